"""Recognise a published file by its content (header signature), never by its name."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from .common import decode_bytes

# format id -> columns that must all be present (lower case)
SIGNATURES: list[tuple[str, set[str]]] = [
    ("nccis_la_dashboard", {"time_period", "neet_not_known_percent", "neet_percent", "notknown_percent"}),
    ("ees_lad", {"time_period", "lad_code", "level_methodology", "cohort", "education", "all_notsust"}),
    ("ees_ks4", {"time_period", "geographic_level", "institution_group", "data_type", "cohort",
                 "overall", "ssf", "sfc", "all_notsust", "all_unknown"}),
    ("ees_ltd", {"time_period", "destination_year", "school_urn", "characteristic", "overall", "all_notsust"}),
    ("perf_tables_ks5", {"rectype", "urn", "tot_cohort", "tot_overallper"}),
    ("perf_tables_ks4", {"rectype", "urn", "cohort", "overall_dest", "overall_destper"}),
    ("lait_long", {"short desc", "years", "la and regions", "values", "la number"}),
    ("gias_links", {"urn", "linkurn", "linktype"}),
    ("gias_establishment_types", {"type-of-establishment-code", "establishment-type-group-name"}),
    ("gias_establishments", {"urn", "la (code)", "establishmentnumber", "typeofestablishment (code)"}),
    # companions and files that are recognised but carry no figures the warehouse uses
    ("perf_tables_meta", {"variable", "label", "type"}),
    ("perf_tables_meta", {"field name", "field description", "type"}),
    ("perf_tables_ks5_he", {"rectype", "urn", "all_cohort", "all_progressed"}),
    ("perf_tables_la_codes", {"lea", "la name", "region"}),
    ("ees_meta", {"col_name", "col_type", "label"}),
    ("lait_dictionary", {"measure_code", "measure_short"}),
]
COMPANIONS = {"perf_tables_meta", "ees_meta", "lait_dictionary", "perf_tables_la_codes"}
NOT_USED = {"perf_tables_ks5_he"}


def header_of(path: Path) -> list[str]:
    """Column names of a CSV or Parquet file (lower case); [] when it has none."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq
        return [c.lower() for c in pq.read_schema(path).names]
    with open(path, "rb") as fh:
        head = fh.read(64 * 1024)
    if b"\x00" in head:
        return []  # binary (xlsx, zip, pdf ...)
    text = decode_bytes(head)
    first = text.splitlines()[0] if text.strip() else ""
    try:
        row = next(csv.reader(io.StringIO(first)))
    except (StopIteration, csv.Error):
        return []
    return [h.strip().strip('"').lstrip("\ufeff").lower() for h in row]


def recognise(path: Path) -> str | None:
    """Format id for a file, or None when its content matches no known format."""
    try:
        cols = set(header_of(path))
    except Exception:  # unreadable / corrupt parquet
        return None
    for kind, need in SIGNATURES:
        if need <= cols:
            return kind
    return None
