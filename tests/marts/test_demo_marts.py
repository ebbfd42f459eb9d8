"""The marts on a generated demo trust, checked against the same numbers computed here in
Python from the clean pupil rows (an independent implementation of the rules)."""
from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from pipelines.config import destination_codes
from tests.marts.helpers import query, register_rows, truth_return_rows

POSITIVE = {"education", "apprenticeship", "employment", "training"}


@pytest.fixture(scope="module")
def pupils(demo_warehouse) -> pl.DataFrame:
    _, demo = demo_warehouse
    codes = destination_codes()
    reg = {r["urn"]: r for r in register_rows(demo)}
    rows = pl.DataFrame(truth_return_rows(demo))
    return rows.with_columns(
        group=pl.col("destination_code").replace_strict({c: v["destination_group"] for c, v in codes.items()}),
        sub_group=pl.col("destination_code").replace_strict({c: v["destination_sub_group"] for c, v in codes.items()}),
        key_stage=pl.when(pl.col("year_group") == 11).then(pl.lit("KS4")).otherwise(pl.lit("16-18")),
        in_trust=pl.struct("academy_urn", "leaving_year").map_elements(
            lambda s: reg[s["academy_urn"]]["joined_trust"] <= date(int(s["leaving_year"][:4]), 9, 1),
            return_dtype=pl.Boolean),
    )


def test_destination_measures_trust_totals_match_python(demo_warehouse, pupils):
    warehouse, _ = demo_warehouse
    expected = (pupils.filter(pl.col("in_trust"))
                .group_by("leaving_year", "key_stage", "round")
                .agg(cohort=pl.len(),
                     positive=pl.col("group").is_in(list(POSITIVE)).sum(),
                     neet=(pl.col("group") == "neet").sum(),
                     further_education=(pl.col("sub_group") == "further_education").sum(),
                     undecided=(pl.col("group") == "undecided").sum()))
    got = query(warehouse, """
        select leaving_year, key_stage, round, cohort, positive, neet, further_education, undecided, positive_pct
        from marts.destination_measures where level = 'trust' and breakdown_topic = 'Total'""")
    joined = expected.join(got, on=["leaving_year", "key_stage", "round"], how="full", suffix="_got")
    assert joined.height == expected.height == got.height
    for col in ["cohort", "positive", "neet", "further_education", "undecided"]:
        assert (joined[col] == joined[f"{col}_got"]).all(), col
    pct = joined["positive"] * 100 / joined["cohort"]
    assert ((pct - joined["positive_pct"]).abs() < 1e-9).all()


def test_breakdowns_add_up_to_total(demo_warehouse):
    warehouse, _ = demo_warehouse
    bad = query(warehouse, """
        with t as (
            select level, academy_urn, leaving_year, key_stage, round, breakdown_topic,
                   sum(cohort) as cohort, sum(neet) as neet, sum(positive) as positive
            from marts.destination_measures group by all)
        select t.* from t join marts.destination_measures m
          on m.level = t.level and m.academy_urn is not distinct from t.academy_urn
         and m.leaving_year = t.leaving_year and m.key_stage = t.key_stage and m.round = t.round
         and m.breakdown_topic = 'Total'
        where t.cohort <> m.cohort or t.neet <> m.neet or t.positive <> m.positive""")
    assert bad.height == 0, bad.head()


def test_reconciliation_outcomes_match_python(demo_warehouse, pupils):
    warehouse, _ = demo_warehouse
    r1 = pupils.filter(pl.col("round") == "R1").select("leaving_year", "upn", i_group="group", i_sub="sub_group")
    r3 = pupils.filter(pl.col("round") == "R3").select("leaving_year", "upn", a_group="group", a_sub="sub_group")
    both = r1.join(r3, on=["leaving_year", "upn"], how="inner")

    def outcome(r):
        if r["i_group"] == "undecided":
            return "no intention recorded"
        if r["a_group"] == "not_known":
            return "became not known"
        if r["a_group"] == "neet" and r["i_group"] != "neet":
            return "became NEET"
        return "realised" if r["a_sub"] == r["i_sub"] else "changed route"

    expected = both.with_columns(outcome=pl.struct(pl.all()).map_elements(outcome, return_dtype=pl.Utf8))
    got = query(warehouse, """
        select leaving_year, upn, outcome as got from marts.destination_reconciliation
        where intended_round = 'R1' and intended_code is not null and actual_code is not null""")
    j = expected.join(got, on=["leaving_year", "upn"], how="inner")
    assert j.height == expected.height
    assert (j["outcome"] == j["got"]).all(), j.filter(pl.col("outcome") != pl.col("got")).head()
    # actual-only pupils are 'no intention recorded', intended-only are 'not in actual return'
    r3_only = r3.join(r1, on=["leaving_year", "upn"], how="anti")
    got_r3_only = query(warehouse, """select count(*) as n from marts.destination_reconciliation
        where intended_round = 'R1' and intended_code is null and outcome = 'no intention recorded'""")["n"][0]
    assert got_r3_only == r3_only.height


def test_neet_denominator_leaves_out_710_720(demo_warehouse, pupils):
    warehouse, _ = demo_warehouse
    exp = (pupils.filter((pl.col("round") == "R3") & pl.col("in_trust"))
           .group_by("leaving_year", "key_stage")
           .agg(den=(pl.col("group") != "excluded").sum(), neet=(pl.col("group") == "neet").sum(),
                nk=(pl.col("group") == "not_known").sum()))
    got = query(warehouse, """select leaving_year, key_stage, neet_denominator, neet, not_known, neet_pct
        from marts.neet_not_known where level = 'trust' and breakdown_topic = 'Total'""")
    j = exp.join(got, on=["leaving_year", "key_stage"])
    assert j.height == exp.height > 0
    assert (j["den"] == j["neet_denominator"]).all() and (j["neet"] == j["neet"]).all()
    assert ((j["neet"] * 100 / j["den"] - j["neet_pct"]).abs() < 1e-9).all()


def test_published_marts_disclose_no_small_numbers(demo_warehouse):
    warehouse, _ = demo_warehouse
    assert query(warehouse, """select count(*) as n from marts.destination_measures_published
        where cohort between 1 and 5 or neet between 1 and 2 or positive between 1 and 2
           or cohort - positive between 1 and 2 or not_known between 1 and 2""")["n"][0] == 0
    for mart, cols in {"neet_not_known_published": ["neet", "not_known"],
                       "destination_reconciliation_rates_published": ["realised", "became_neet"],
                       "goal_progress_published": ["numerator"]}.items():
        cond = " or ".join(f"{c} between 1 and 2" for c in cols)
        assert query(warehouse, f"select count(*) as n from marts.{mart} where {cond}")["n"][0] == 0, mart


def test_no_breakdown_has_a_single_suppressed_sibling(demo_warehouse):
    """Secondary suppression: a topic adding up to a shown Total never has exactly one hidden cohort."""
    warehouse, _ = demo_warehouse
    bad = query(warehouse, """
        with hidden as (
            select level, academy_urn, leaving_year, key_stage, round, breakdown_topic,
                   count(*) filter (where cohort is null) as hidden
            from marts.destination_measures_published
            where breakdown_topic <> 'Total'
            group by all)
        select hidden.* from hidden
        join marts.destination_measures_published t
          on t.breakdown_topic = 'Total' and t.level = hidden.level
         and t.academy_urn is not distinct from hidden.academy_urn and t.leaving_year = hidden.leaving_year
         and t.key_stage = hidden.key_stage and t.round = hidden.round
        where hidden.hidden = 1 and t.cohort is not null""")
    assert bad.height == 0, bad.head()
    hidden_cells = query(warehouse, """
        select count(*) as n from marts.destination_measures_published
        where not suppressed and len(suppressed_measures) = 1""")["n"][0]
    assert hidden_cells == 0, "a row with exactly one hidden count could be recovered from its total"


def test_goal_progress_matches_python(demo_warehouse, pupils):
    warehouse, _ = demo_warehouse
    r3 = pupils.filter((pl.col("round") == "R3") & pl.col("in_trust"))
    eng = r3.filter(pl.col("route") == "Engineering and manufacturing")
    eng = eng.filter(pl.col("group").is_in(list(POSITIVE)))
    exp = eng.group_by("leaving_year").agg(num=(pl.col("sex") == "F").sum(), den=pl.len())
    got = query(warehouse, """select leaving_year, numerator, denominator, share_pct, comparator_pct, comparator_source
        from marts.goal_progress where goal_id = 'girls_engineering' and level = 'trust' and round = 'R3'""")
    j = exp.join(got, on="leaving_year")
    assert j.height == exp.height > 0
    assert (j["num"] == j["numerator"]).all() and (j["den"] == j["denominator"]).all()
    assert (j["comparator_source"].str.starts_with("https://")).all()


def test_neet_risk_scores_are_the_sum_of_their_reasons(demo_warehouse):
    warehouse, _ = demo_warehouse
    weights = dict(query(warehouse, "select factor, weight from staging.stg_returns__neet_risk_weights").rows())
    risk = query(warehouse, "select * from marts.neet_risk_pupils")
    assert risk.height > 0, "the demo trust has a current year"
    assert risk["leaving_year"].n_unique() == 1
    for r in risk.head(300).iter_rows(named=True):
        assert r["risk_score"] == pytest.approx(sum(weights[f] for f in r["risk_factors"]))
        assert (r["risk_factors"] != []) == (r["reasons"] != "")
        if r["intended_group"] == "undecided":
            assert "undecided" in r["risk_factors"]
    rates = query(warehouse, """select breakdown, flagged_pct from marts.neet_risk_rates
                                where level = 'trust' and breakdown_topic = 'Disadvantage'
                                  and key_stage = 'KS4'""")
    assert sorted(rates["breakdown"]) == ["Disadvantaged", "Not disadvantaged"]
