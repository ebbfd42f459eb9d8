"""EES longer-term destinations, institution level (`ltd_dm_*_inst`, CSV or the API mock's
Parquet): one KS4 cohort followed 1, 3 and 5 years after KS4. time_period is the year the
cohort completed KS4; `destination_year` 'year N' becomes the academic year N years later."""
from __future__ import annotations

from pathlib import Path

import polars as pl

from .common import (
    CAVEATS, COLUMNS, SCHEMA, BenchmarkFileError, ReadResult, institution_group, parse_cells, year_label,
)

MEASURES = {"overall": "positive", "education": "education", "he": "higher_education",
            "fe": "further_education", "other_edu": "other_education", "appren": "apprenticeship",
            "all_work": "employment", "all_notsust": "not_sustained", "all_unknown": "not_captured"}
CHARACTERISTICS = {"Total": ("Total", "Total"), "Disadvantaged": ("Disadvantage", "Disadvantaged"),
                   "Not disadvantaged": ("Disadvantage", "Not disadvantaged"),
                   "Male": ("Sex", "Male"), "Female": ("Sex", "Female")}


def read_ltd(path: Path, rel: str) -> ReadResult:
    if path.suffix.lower() == ".parquet":
        df = pl.read_parquet(path)
    else:
        df = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    df = df.select(pl.all().cast(pl.Utf8))
    if df.height == 0:
        raise BenchmarkFileError(f"{rel}: longer-term destinations header but no rows")
    start = df["time_period"].str.slice(0, 4).cast(pl.Int32, strict=False)
    years_after = df["destination_year"].str.extract(r"(\d+)").cast(pl.Int32, strict=False)
    latest = int(start.max())
    df = df.with_columns(start.alias("_start"), years_after.alias("_after"))
    groups = {g: institution_group(g) for g in df["institution_group"].unique().to_list()}
    pct = pl.col("data_type").str.to_lowercase().str.starts_with("percent")
    parts = [df.filter(~pct).with_columns(pl.lit("cohort").alias("measure"), pl.col("cohort").alias("cell"))]
    for col, m in MEASURES.items():
        if col in df.columns:
            parts.append(df.with_columns(
                pl.when(pct).then(pl.lit(m + "_pct")).otherwise(pl.lit(m)).alias("measure"),
                pl.col(col).alias("cell")))
    long = pl.concat(parts, how="diagonal_relaxed").with_columns(parse_cells(pl.col("cell"))).filter("_keep")
    char = pl.col("characteristic").str.strip_chars().str.to_lowercase()
    topic = char.replace_strict({k.lower(): v[0] for k, v in CHARACTERISTICS.items()}, default="Prior attainment")
    bd = char.replace_strict({k.lower(): v[1] for k, v in CHARACTERISTICS.items()},
                             default=pl.col("characteristic"))
    out = long.with_columns(
        pl.lit("ees_ltd_destinations").alias("source"),
        pl.lit(f"EES longer-term destinations {year_label(latest)} KS4 cohort, institution level").alias("publication"),
        pl.lit(None, pl.Boolean).alias("is_latest"),
        _label(pl.col("_start")).alias("leaving_year"),
        pl.col("time_period").alias("period"),
        pl.lit("school").alias("geography_level"),
        pl.col("school_urn").alias("geography_code"),
        pl.lit("KS4").alias("key_stage"),
        pl.lit(None, pl.Utf8).alias("institution_group"),
        topic.alias("breakdown_topic"), bd.alias("breakdown"),
        _label(pl.col("_start") + pl.col("_after")).alias("destination_year"),
        pl.col("school_name").alias("geography_name"),
        pl.col("old_la_code").alias("la_code"),
        pl.col("version"),
        pl.lit("pre-2025").alias("methodology"),
        pl.lit((latest + 6) * 10).alias("publication_order"),
        pl.lit(CAVEATS["dfe_sustained"] + " Longer-term destinations: the activity 1, 3 or 5 years after KS4 "
               "(see destination_year).").alias("caveat"),
        pl.lit(rel).alias("source_file"),
    )
    res = ReadResult(kind="ees_ltd_institution")
    res.rows_frame = out.select([pl.col(c).cast(SCHEMA[c]) for c in COLUMNS])
    if any(v is None for v in groups.values()):
        res.warnings.append(f"{rel}: unknown institution groups {[k for k, v in groups.items() if v is None]}")
    return res


def _label(start: pl.Expr) -> pl.Expr:
    """Vectorised year_label: 2014 -> '2014-15'."""
    return pl.concat_str(start.cast(pl.Utf8), pl.lit("-"), ((start + 1) % 100).cast(pl.Utf8).str.zfill(2))
