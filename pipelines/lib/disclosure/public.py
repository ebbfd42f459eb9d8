"""Public release through the one disclosure engine (issue 17: each academy's website statement).

The statement prints, per academy x leaving year x key stage (first actual round, all leavers),
the leavers and a share for each measure shown for that key stage. Which figures are withheld is
decided here, once, and `public_destination_statement` only formats:

- the published decision (int_disclosure__cells) carries over: a cell hidden in the published
  layer is never printed;
- the engine is run again on the statement's own rows with the stricter public thresholds
  (td:public:min_cohort, td:public:min_count). Measures never printed for a key stage (higher
  education after KS4; school sixth form and sixth-form college after 16-18; undecided and other
  circumstances) are folded into `unprinted_education` / `unprinted_leavers`, so the engine treats
  what a reader can work out from the printed figures (leavers minus the printed parts) like any
  other count. Those cells are never printed themselves.

Hiding the union of two patterns is safe when each is: a cell neither pattern lets anyone work
out from what it shows stays so when less is shown.

Incremental: with a cache file (the model's: `public_cache_path`) the engine keeps each leaving
year's decision under a digest of its rows (engine.run's partitions: no statement relation
crosses a row, let alone a year), so a corrected return recomputes its leaving year only, and
within it only the rows (blocks) that changed; the result is the cold run's.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.lib.disclosure.engine import run
from pipelines.lib.disclosure.structure import PUBLIC_STATEMENT

# measures the statement prints, per key stage (the rest of a row is folded into unprinted_*)
PRINTED = {
    "KS4": ("positive", "education", "school_sixth_form", "sixth_form_college", "further_education",
            "other_education", "apprenticeship", "employment", "training", "neet", "not_known", "other"),
    "16-18": ("positive", "education", "further_education", "higher_education", "other_education",
              "apprenticeship", "employment", "training", "neet", "not_known", "other"),
}
EDUCATION_PARTS = ("school_sixth_form", "sixth_form_college", "further_education", "higher_education",
                   "other_education")


def first_actual_round(measures: pl.DataFrame) -> str | None:
    """The statement's round: the first actual round of destination_measures (any rows with
    round, round_kind, round_order will do, e.g. only the distinct rounds); None without one."""
    actual = measures.filter(pl.col("round_kind") == "actual")
    return None if actual.is_empty() else actual.sort("round_order", "round").row(0, named=True)["round"]


# the statement's rows, read in DuckDB (the model): academy Total rows of actual rounds only
STATEMENT_ROWS_SQL = "level = 'academy' and breakdown_topic = 'Total' and breakdown = 'Total' and round_kind = 'actual'"


def statement_rows(measures: pl.DataFrame, first: str | None = None) -> pl.DataFrame:
    """The statement's rows from destination_measures: academy Total rows of the first actual
    round with any leavers, unprinted education parts folded into `unprinted_education`.
    `first`: that round when the caller knows it (measures then need only hold its rows)."""
    first = first if first is not None else first_actual_round(measures)
    if first is None:
        return pl.DataFrame(schema={**{k: pl.Utf8 for k in PUBLIC_STATEMENT.keys},
                                    **{m: pl.Int64 for m in PUBLIC_STATEMENT.measures}, "level": pl.Utf8})
    rows = measures.filter((pl.col("level") == "academy") & (pl.col("round") == first)
                           & (pl.col("breakdown_topic") == "Total") & (pl.col("breakdown") == "Total")
                           & (pl.col("cohort") > 0))
    out = []
    for ks, printed in PRINTED.items():
        part = rows.filter(pl.col("key_stage") == ks)
        unprinted = [m for m in EDUCATION_PARTS if m not in printed]
        part = part.with_columns(
            unprinted_education=pl.sum_horizontal([pl.col(m).fill_null(0) for m in unprinted]).cast(pl.Int64),
            unprinted_leavers=(pl.col("undecided").fill_null(0) + pl.col("excluded").fill_null(0)).cast(pl.Int64),
            **{m: pl.lit(0, dtype=pl.Int64) for m in unprinted},
        )
        out.append(part)
    frame = pl.concat(out, how="vertical_relaxed") if out else rows
    return frame.select(pl.lit("academy").alias("level"), *PUBLIC_STATEMENT.keys,
                        *[pl.col(m).cast(pl.Int64) for m in PUBLIC_STATEMENT.measures])


def public_cache_path(cells_cache: str | None) -> Path | None:
    """The statement's engine cache, beside int_disclosure__cells' (DESTINATIONS_DISCLOSURE_CACHE):
    a file of its own, as a run keeps only the entries it used."""
    if not cells_cache:
        return None
    p = Path(cells_cache)
    return p.with_name(f"{p.stem}-public{p.suffix}")


# no engine worker processes: a statement's blocks are single rows (16 cells), and a partition of
# 2,000+ cells would otherwise start a worker (loading the kernel, ~2 s) that the run then waits for
IN_THIS_PROCESS = 1


def statement_cells(measures: pl.DataFrame, published_cells: pl.DataFrame, min_cohort: int,
                    min_count: int, first: str | None = None, cache_path: str | Path | None = None) -> pl.DataFrame:
    """One row per statement cell: academy_urn, leaving_year, key_stage, round, measure,
    measure_order, printed, hidden, reason ('published' when the published layer hides it, else
    the engine's public reason; null when printed as a figure). `first`: see statement_rows.
    `cache_path`: the engine's cache file (leaving years and rows unchanged since the run that
    wrote it are not recomputed; same result)."""
    frame = statement_rows(measures, first)
    schema = {"academy_urn": pl.Utf8, "leaving_year": pl.Utf8, "key_stage": pl.Utf8, "round": pl.Utf8,
              "measure": pl.Utf8, "measure_order": pl.Int64, "printed": pl.Boolean, "hidden": pl.Boolean,
              "reason": pl.Utf8}
    if frame.is_empty():
        return pl.DataFrame(schema=schema)
    res = run({PUBLIC_STATEMENT.name: frame}, min_cohort=min_cohort, min_count=min_count,
              cache_path=cache_path, by_partition=cache_path is not None, workers=IN_THIS_PROCESS)
    keys = list(PUBLIC_STATEMENT.keys)
    cells = res.cells.select("row_key", "measure", "measure_order", "hidden", "reason").join(
        frame.select(*keys, row_key=pl.concat_str(
            [pl.col(k).cast(pl.Utf8).fill_null("~") for k in keys], separator="|")),
        on="row_key", how="inner")
    # the published decision on the same cells (destination_measures Total rows)
    pub = published_cells.filter(pl.col("mart") == "destination_measures").select(
        "row_key", "measure", pl.col("hidden").alias("published_hidden"))
    cells = cells.with_columns(
        pub_key=pl.concat_str([pl.lit("academy"), *[pl.col(k).cast(pl.Utf8).fill_null("~") for k in keys],
                               pl.lit("Total"), pl.lit("Total")], separator="|"))
    cells = cells.join(pub, left_on=["pub_key", "measure"], right_on=["row_key", "measure"], how="left")
    printed = pl.lit(False)
    for ks, ms in PRINTED.items():
        printed = pl.when((pl.col("key_stage") == ks) & pl.col("measure").is_in(list(ms))).then(True) \
            .otherwise(printed)
    printed = pl.when(pl.col("measure") == "cohort").then(True).otherwise(printed)
    # a measure with no published twin (unprinted_*) has no published decision
    return cells.with_columns(
        printed=printed,
        hidden=pl.col("hidden") | pl.col("published_hidden").fill_null(False),
        reason=pl.when(pl.col("published_hidden").fill_null(False)).then(pl.lit("published"))
        .otherwise(pl.col("reason")),
    ).select(list(schema)).sort("academy_urn", "leaving_year", "key_stage", "measure_order")
