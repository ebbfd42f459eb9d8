"""School performance tables downloads: `england_ks4-pupdest.csv` and `england_ks5-studest.csv`.

Percentages are published as rounded strings ('81%') and stored as published (81.0).
The cohort year is stated only in the `*_meta.csv` beside the data (column labels such as
'Number of pupils completing key stage 4 in 2022/23'); without it the year is inferred from
the national row's cohort when another loaded publication gives that national cohort.
"""
from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from .common import (
    CAVEATS, COLUMNS, ENGLAND, SCHEMA, BenchmarkFileError, ReadResult, parse_cells, read_csv_rows,
    year_label,
)

KS4_FIELDS = {  # column stem -> measure stem
    "COHORT": "cohort", "OVERALL_DEST": "positive", "APPREN": "apprenticeship",
    "EMPLOYMENT": "employment", "EDUCATION": "education", "FE": "further_education",
    "SCH_6TH": "school_sixth_form", "SIXTH_COL": "sixth_form_college", "OTHER_EDU": "other_education",
    "NOT_SUSTAINED": "not_sustained", "UNKNOWN": "not_captured",
}
KS5_FIELDS = {
    "COHORT": "cohort", "OVERALL": "positive", "APPREN": "apprenticeship", "EDUCATION": "education",
    "FE": "further_education", "HE": "higher_education", "OTHER_EDU": "other_education",
    "EMPLOYMENT": "employment", "NOT_SUSTAINED": "not_sustained", "NOT_CAPTURED": "not_captured",
}
DIS_SUFFIX = {"": ("Total", "Total"), "_DIS": ("Disadvantage", "Disadvantaged"),
              "_NONDIS": ("Disadvantage", "Not disadvantaged")}
KS5_LEVELS = {"TOT_": None, "L3_": "Level 3", "L2_": "Level 2", "LALLOTH_": "All other qualifications"}
YEAR_RE = re.compile(r"(20\d\d)\s*/\s*(\d\d)")


def meta_candidates(data_file: Path, stem: str) -> list[Path]:
    """`<stem>_meta.csv` beside the data file, then in sibling folders (e.g. metadata_2024-2025)."""
    name = f"{stem}_meta.csv"
    here = [p for p in data_file.parent.iterdir() if p.name.lower() == name]
    if here:
        return here
    token = re.search(r"20\d\d-20\d\d", data_file.parent.name)
    sib = []
    for d in sorted(data_file.parent.parent.iterdir()):
        if d.is_dir() and d != data_file.parent:
            sib += [p for p in d.iterdir() if p.name.lower() == name
                    and (token is None or token.group(0) in d.name)]
    return sib[:1]


def meta_years(meta: Path) -> dict[str, int]:
    """Column name -> start year of the leaving cohort its label mentions ('in 2022/23' -> 2022)."""
    _, rows = read_csv_rows(meta)
    out: dict[str, int] = {}
    for r in rows:
        vals = list(r.values())
        name = (r.get("Variable") or r.get("Field Name") or (vals[1] if len(vals) > 1 else "")).strip()
        label = " ".join(v for v in vals if v)
        if not name.upper().endswith("COHORT") and "COHORT_" not in name.upper() and "leavers" not in label:
            continue
        m = YEAR_RE.search(label)
        if m and int(m.group(2)) == (int(m.group(1)) + 1) % 100:
            out[name.upper()] = int(m.group(1))
    return out


def _history_suffixes(header: list[str]) -> list[str]:
    """Previous-year column suffixes, e.g. ['_22', '_21'] (newest first)."""
    sufs = {m.group(1) for h in header if (m := re.fullmatch(r"COHORT(?:_NONDIS|_DIS)?(_\d\d)", h))}
    return sorted(sufs, reverse=True)


def read_perf_tables(path: Path, rel: str, national_cohorts: dict[tuple[str, int], str] | None = None
                     ) -> ReadResult:
    header, rows = read_csv_rows(path)
    is_ks5 = "TOT_COHORT" in header
    key_stage = "16-18" if is_ks5 else "KS4"
    res = ReadResult(kind="perf_tables_ks5" if is_ks5 else "perf_tables_ks4")
    if not rows:
        raise BenchmarkFileError(f"{rel}: performance-tables header but no rows")
    stem = "ks5-studest" if is_ks5 else "ks4-pupdest"
    years: dict[str, int] = {}
    for meta in meta_candidates(path, stem):
        years = meta_years(meta)
        res.used_files.append(meta)
    current_col = "TOT_COHORT" if is_ks5 else "COHORT"
    current = years.get(current_col)
    how = "metadata file"
    nat = next((r for r in rows if r.get("RECTYPE", "").upper() == "NAT"), None)
    if current is None and nat is not None and national_cohorts:
        found = national_cohorts.get((key_stage, _int(nat.get(current_col))))
        if found is not None:
            current, how = found, "national cohort matched to another publication"
    if current is None:
        raise BenchmarkFileError(
            f"{rel}: cannot tell which cohort this performance-tables file covers. Put the "
            f"'{stem}_meta.csv' that came with the download in the same folder and run again")
    res.warnings.append(f"{rel}: cohort completing {key_stage} in {year_label(current)} ({how})")
    # previous years (KS4 only): labels from the meta, else the two years before, newest suffix first
    hist: dict[str, int] = {}
    for i, suf in enumerate(_history_suffixes(header)):
        hist[suf] = years.get("COHORT" + suf, current - 1 - i)

    source = "performance_tables_1618" if is_ks5 else "performance_tables_ks4"
    publication = f"Performance tables {year_label(current + 2).replace('-', '-20')} {stem}"
    caveat = CAVEATS["dfe_sustained"] + " " + CAVEATS["perf_tables"]
    # column -> (leaving year start, topic, breakdown, measure)
    spec: dict[str, tuple[int, str, str, str]] = {}
    fields = KS5_FIELDS if is_ks5 else KS4_FIELDS
    for prefix, level_name in (KS5_LEVELS if is_ks5 else {"": None}).items():
        for dsuf, (topic, breakdown) in DIS_SUFFIX.items():
            if level_name is not None:
                topic, breakdown = ("Qualification level", level_name) if topic == "Total" else (
                    "Qualification level and disadvantage", f"{level_name} {breakdown}")
            for stem_col, measure in fields.items():
                spec[f"{prefix}{stem_col}{dsuf}"] = (current, topic, breakdown, measure)
                if stem_col != "COHORT":
                    spec[f"{prefix}{stem_col}PER{dsuf}"] = (current, topic, breakdown, measure + "_pct")
    for suf, start in hist.items():  # headline of earlier cohorts, as published in this file
        for dsuf, (topic, breakdown) in DIS_SUFFIX.items():
            spec[f"COHORT{dsuf}{suf}"] = (start, topic, breakdown, "cohort")
            spec[f"OVERALL_DESTPER{dsuf}{suf}"] = (start, topic, breakdown, "positive_pct")
    spec = {c: v for c, v in spec.items() if c in header}
    res.rows_frame = _long_frame(rows, spec, is_ks5, key_stage, dict(
        source=source, publication=publication, key_stage=key_stage, version="Final",
        methodology="pre-2025", publication_order=(current + 2) * 10 + 3, caveat=caveat, source_file=rel))
    return res


def _long_frame(rows: list[dict], spec: dict, is_ks5: bool, key_stage: str, const: dict) -> pl.DataFrame:
    """Wide school rows -> one row per published figure (vectorised)."""
    wide = pl.DataFrame(rows, schema={k: pl.Utf8 for k in rows[0]}) if rows else pl.DataFrame()
    rt = pl.col("RECTYPE").str.strip_chars().str.to_uppercase()
    main_group = "mainstream" if is_ks5 else "mainstream and special"
    lea = pl.col("LEA").str.strip_chars().replace("", None)
    wide = wide.with_columns(
        pl.when(rt.is_in(["NAT", "5", "7"])).then(pl.lit("national"))
          .when(rt.is_in(["LA", "4"])).then(pl.lit("la"))
          .when(rt.is_in(["1", "2", "3"])).then(pl.lit("school")).alias("geography_level"),
        pl.when(rt.is_in(["NAT", "5", "7"])).then(pl.lit(ENGLAND))
          .when(rt.is_in(["LA", "4"])).then(lea)
          .otherwise(pl.col("URN").str.strip_chars().replace("", None)).alias("geography_code"),
        pl.when(rt.is_in(["NAT", "5", "7"])).then(pl.lit("England"))
          .when(rt.is_in(["1", "2", "3"])).then(pl.col("SCHNAME")).alias("geography_name"),
        pl.when(rt.is_in(["NAT", "5", "7"])).then(None).otherwise(lea).alias("la_code"),
        pl.when(rt.is_in(["1", "2", "3"])).then(None).otherwise(pl.lit(main_group)).alias("institution_group"),
    ).filter(pl.col("geography_level").is_not_null() & pl.col("geography_code").is_not_null())
    index = ["geography_level", "geography_code", "geography_name", "la_code", "institution_group"]
    long = wide.select(*index, *spec).unpivot(index=index, on=list(spec), variable_name="col", value_name="cell")
    mapping = pl.DataFrame(
        [(c, year_label(y), year_label(y + 1), t, b, m) for c, (y, t, b, m) in spec.items()],
        schema=["col", "leaving_year", "destination_year", "breakdown_topic", "breakdown", "measure"], orient="row")
    long = long.join(mapping, on="col", how="left").with_columns(parse_cells(pl.col("cell")))
    long = long.filter(pl.col("_keep")).with_columns(
        pl.col("leaving_year").alias("period"),
        *[pl.lit(v).alias(k) for k, v in const.items()])
    return long.with_columns(pl.lit(None, pl.Boolean).alias("is_latest")).select(
        [pl.col(c).cast(SCHEMA[c]) for c in COLUMNS])


def _int(v) -> int | None:
    try:
        return int(str(v).strip())
    except (TypeError, ValueError):
        return None


