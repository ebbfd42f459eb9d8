"""End to end: generate a small trust, run every asset in-process, check the marts
against an independent recomputation from the generator's pupil rows."""
import os
from datetime import date

import polars as pl
import pytest

from pipelines.config import destination_codes

GROUP_COUNTS = ["education", "apprenticeship", "employment", "training", "neet", "not_known", "other", "undecided"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from pipelines.lib.generate import generate_trust
    from pipelines.runner import run_pipeline

    data = tmp_path_factory.mktemp("trust")
    generate_trust(data, academies=5, years=2, seed=11)
    old = os.environ.get("DESTINATIONS_DATA_DIR")
    os.environ["DESTINATIONS_DATA_DIR"] = str(data)
    try:
        lines: list[str] = []
        rc = run_pipeline(data, echo=lines.append)
    finally:
        if old is None:
            os.environ.pop("DESTINATIONS_DATA_DIR", None)
        else:
            os.environ["DESTINATIONS_DATA_DIR"] = old
    return data, rc, lines


def _expected(truth: pl.DataFrame) -> pl.DataFrame:
    codes = destination_codes()
    t = truth.with_columns(
        pl.col("destination_code").replace_strict({c: r["destination_group"] for c, r in codes.items()}).alias("grp"),
        pl.when(pl.col("year_group") == 11).then(pl.lit("KS4")).otherwise(pl.lit("16-18")).alias("key_stage"),
    )
    aggs = [pl.len().alias("cohort")] + [(pl.col("grp") == g).sum().alias(g) for g in GROUP_COUNTS]
    return t, aggs


def test_run_succeeds_and_publishes(demo):
    data, rc, lines = demo
    assert rc == 0, "\n".join(lines)
    serving = data / "warehouse" / "serving"
    assert (serving / "destination_measures.parquet").exists()
    assert (data / "warehouse" / "warehouse.duckdb").exists()
    assert not list(serving.glob(".*.tmp")), "temp files left behind by publish"


def test_academy_totals_equal_recomputation(demo):
    data, rc, _ = demo
    assert rc == 0
    truth = pl.read_parquet(data / "_truth" / "pupils.parquet")
    dm = pl.read_parquet(data / "warehouse" / "serving" / "destination_measures.parquet")
    t, aggs = _expected(truth)
    for topic, by, label in [("Total", None, None), ("Disadvantage", "disadvantaged", {True: "Disadvantaged", False: "Not disadvantaged"})]:
        keys = ["academy_urn", "leaving_year", "key_stage", "round"] + ([by] if by else [])
        exp = t.group_by(keys).agg(aggs)
        exp = exp.with_columns(pl.col(by).replace_strict(label).alias("breakdown")) if by else exp.with_columns(pl.lit("Total").alias("breakdown"))
        got = dm.filter((pl.col("level") == "academy") & (pl.col("breakdown_topic") == topic))
        joined = exp.join(got, on=["academy_urn", "leaving_year", "key_stage", "round", "breakdown"], how="left", suffix="_mart")
        assert joined.height == exp.height and joined.height > 0
        for c in ["cohort"] + GROUP_COUNTS:
            bad = joined.filter(pl.col(c) != pl.col(f"{c}_mart").fill_null(-1))
            assert bad.height == 0, f"{topic} {c} differs:\n{bad.head()}"
        pct = joined.filter(pl.col("cohort") > 0).with_columns(
            (100.0 * pl.col("neet") / pl.col("cohort") - pl.col("neet_pct")).abs().alias("d"))
        assert pct["d"].max() < 1e-9


def test_trust_rows_count_only_members_by_cutoff(demo):
    data, rc, _ = demo
    assert rc == 0
    truth = pl.read_parquet(data / "_truth" / "pupils.parquet")
    register = pl.read_csv(data / "raw" / "academies.csv", infer_schema=False)
    joined = dict(zip(register["urn"], register["joined_trust"]))
    t, aggs = _expected(truth)
    t = t.filter(pl.struct(["academy_urn", "leaving_year"]).map_elements(
        lambda s: date.fromisoformat(joined[s["academy_urn"]]) <= date(int(s["leaving_year"][:4]), 9, 1),
        return_dtype=pl.Boolean))
    exp = t.group_by(["leaving_year", "key_stage", "round"]).agg(aggs)
    dm = pl.read_parquet(data / "warehouse" / "serving" / "destination_measures.parquet")
    got = dm.filter((pl.col("level") == "trust") & (pl.col("breakdown_topic") == "Total"))
    assert got["academy_urn"].null_count() == got.height
    j = exp.join(got, on=["leaving_year", "key_stage", "round"], how="left", suffix="_mart")
    assert j.height == exp.height
    for c in ["cohort", "neet", "education", "not_known"]:
        assert (j[c] == j[f"{c}_mart"]).all(), c
