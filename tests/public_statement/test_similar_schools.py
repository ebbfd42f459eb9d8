"""Similar schools from DfE's real school-level KS4 destinations file (performance tables)."""
from __future__ import annotations

import polars as pl
import pytest

from tests.public_statement.conftest import PUPDEST, SECONDARY, SPECIAL, shared_data


def test_similar_schools_from_the_real_performance_tables(public_built):
    data = shared_data()
    if data is None or not (data / PUPDEST).exists():
        pytest.skip("../shared research data not present")
    sim = pl.read_parquet(public_built.serving / "similar_schools.parquet")
    hill = sim.filter(pl.col("academy_urn") == SECONDARY).sort("similarity_rank")
    assert hill.height == 10 and hill["similarity_rank"].to_list() == list(range(1, 11))
    # Hill Top: 120 KS4 leavers with a sixth form. Its disadvantaged cohort (40) is withheld in the
    # published layer (the special school's 5 beside it in the trust total), so similarity uses only
    # published characteristics: size, sixth form and LA
    assert hill["academy_ks4_cohort"][0] == 120
    assert hill["academy_disadvantaged_share"][0] is None
    assert hill["distance"].is_sorted()
    assert all(80 <= c <= 180 for c in hill["similar_ks4_cohort"])
    assert all(hill["similar_has_sixth_form"])
    # the special school (15 leavers) is matched only with small schools
    brook = sim.filter(pl.col("academy_urn") == SPECIAL)
    assert brook.height > 0 and brook["similar_ks4_cohort"].max() <= 45
    comp = pl.read_parquet(public_built.serving / "similar_schools_comparison.parquet")
    pos = comp.filter((pl.col("academy_urn") == SECONDARY) & (pl.col("measure") == "positive")
                      & (pl.col("key_stage") == "KS4")).to_dicts()[0]
    # the academy's figure is its published one (null where the published layer withholds it)
    pub = pl.read_parquet(public_built.serving / "destination_measures_published.parquet").filter(
        (pl.col("academy_urn") == SECONDARY) & (pl.col("breakdown") == "Total") & (pl.col("round") == "R3")
        & (pl.col("leaving_year") == "2024-25") & (pl.col("key_stage") == "KS4"))
    assert pos["academy_pct"] == pub["positive_pct"][0]
    sixth = comp.filter((pl.col("academy_urn") == SECONDARY) & (pl.col("measure") == "school_sixth_form")
                        & (pl.col("key_stage") == "KS4")).to_dicts()[0]
    assert sixth["academy_pct"] == pytest.approx(50.0)      # 60 of 120, shown in the published layer
    assert pos["similar_schools"] == 10 and 80 <= pos["similar_median_pct"] <= 100
    assert pos["similar_leaving_year"] == "2022-23"
    # an academy's figure withheld in the published layer stays withheld here
    pub = pl.read_parquet(public_built.serving / "destination_measures_published.parquet").filter(
        (pl.col("academy_urn") == SPECIAL) & (pl.col("breakdown") == "Total") & (pl.col("round") == "R3")
        & (pl.col("leaving_year") == "2024-25") & (pl.col("key_stage") == "KS4"))
    mine = comp.filter((pl.col("academy_urn") == SPECIAL) & (pl.col("measure") == "positive"))
    assert pub["positive_pct"][0] is None and mine["academy_pct"][0] is None
