"""Get Information About Schools (GIAS): links (predecessor/successor), establishment types,
and the edubasealldata establishment extract. These become their own raw tables."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from .common import ReadResult, read_csv_rows

LINKS_SCHEMA = {"urn": pl.Utf8, "link_urn": pl.Utf8, "link_name": pl.Utf8, "link_type": pl.Utf8,
                "link_established_date": pl.Date, "source_file": pl.Utf8}
TYPES_SCHEMA = {"establishment_type_group_code": pl.Utf8, "establishment_type_group_name": pl.Utf8,
                "type_of_establishment_code": pl.Utf8, "type_of_establishment_name": pl.Utf8,
                "further_education_type_name": pl.Utf8}
ESTAB_SCHEMA = {"urn": pl.Utf8, "name": pl.Utf8, "la_code": pl.Utf8, "establishment_number": pl.Utf8,
                "type_of_establishment": pl.Utf8, "establishment_type_group": pl.Utf8,
                "status": pl.Utf8, "phase": pl.Utf8, "trust_name": pl.Utf8, "ukprn": pl.Utf8,
                "open_date": pl.Utf8, "close_date": pl.Utf8, "source_file": pl.Utf8}


def _date(text: str):
    for fmt in ("%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def read_gias_links(path: Path, rel: str) -> ReadResult:
    _, rows = read_csv_rows(path)
    recs = [{"urn": r["URN"], "link_urn": r["LinkURN"], "link_name": r.get("LinkName") or None,
             "link_type": r.get("LinkType") or None,
             "link_established_date": _date(r.get("LinkEstablishedDate", "")), "source_file": rel}
            for r in rows if r.get("URN", "").isdigit() and r.get("LinkURN", "").isdigit()]
    res = ReadResult(kind="gias_links")
    res.tables["gias_links"] = pl.DataFrame(recs, schema=LINKS_SCHEMA)
    return res


def read_gias_types(path: Path, rel: str) -> ReadResult:
    _, rows = read_csv_rows(path)
    recs = [{"establishment_type_group_code": r.get("establishment-type-group-code"),
             "establishment_type_group_name": r.get("establishment-type-group-name"),
             "type_of_establishment_code": r.get("type-of-establishment-code"),
             "type_of_establishment_name": r.get("type-of-establishment-name"),
             "further_education_type_name": r.get("further-education-type-name-applicable") or None}
            for r in rows]
    res = ReadResult(kind="gias_establishment_types")
    res.tables["gias_establishment_types"] = pl.DataFrame(recs, schema=TYPES_SCHEMA)
    return res


def read_gias_establishments(path: Path, rel: str) -> ReadResult:
    _, rows = read_csv_rows(path)
    recs = [{"urn": r["URN"], "name": r.get("EstablishmentName"), "la_code": r.get("LA (code)"),
             "establishment_number": r.get("EstablishmentNumber"),
             "type_of_establishment": r.get("TypeOfEstablishment (name)"),
             "establishment_type_group": r.get("EstablishmentTypeGroup (name)"),
             "status": r.get("EstablishmentStatus (name)"), "phase": r.get("PhaseOfEducation (name)"),
             "trust_name": r.get("Trusts (name)") or None, "ukprn": r.get("UKPRN") or None,
             "open_date": r.get("OpenDate") or None, "close_date": r.get("CloseDate") or None,
             "source_file": rel}
            for r in rows if r.get("URN", "").isdigit()]
    res = ReadResult(kind="gias_establishments")
    res.tables["gias_establishments"] = pl.DataFrame(recs, schema=ESTAB_SCHEMA)
    return res
