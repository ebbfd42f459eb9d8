"""Rates in the generated data against the national figures they are calibrated to
(research/domain.md §1.3, §1.4, §8, §9.2), recomputed independently from _truth/."""
from __future__ import annotations

import polars as pl
import pytest

from .gen_measures import POSITIVE, pct, with_groups

pos = pl.col("group").is_in(POSITIVE)


@pytest.fixture(scope="module")
def leavers(large_trust):
    out, _ = large_trust
    return with_groups(pl.read_parquet(out / "_truth" / "leavers.parquet").filter(~pl.col("is_current")))


@pytest.fixture(scope="module")
def pupils(large_trust):
    out, _ = large_trust
    return with_groups(pl.read_parquet(out / "_truth" / "pupils.parquet")
                       .filter(pl.col("leaving_year") != "2026-27"))


def test_ks4_headline_rates(leavers):
    k4 = leavers.filter(pl.col("key_stage") == "KS4")
    assert k4.height > 40000
    assert pct(k4, pos) == pytest.approx(93.6, abs=1.5)
    assert pct(k4, pl.col("group") == "education") == pytest.approx(86.2, abs=2.5)
    assert pct(k4, pl.col("sub_group") == "further_education") == pytest.approx(34.7, abs=4)
    assert pct(k4, pl.col("sub_group") == "school_sixth_form") == pytest.approx(37.9, abs=4)
    assert pct(k4, pl.col("sub_group") == "sixth_form_college") == pytest.approx(13.1, abs=3)
    assert pct(k4, pl.col("group") == "apprenticeship") == pytest.approx(3.4, abs=1)
    assert pct(k4, pl.col("group") == "employment") == pytest.approx(4.0, abs=1.2)
    # NEET and not known near NCCIS 16-17 levels
    assert pct(k4, pl.col("group") == "neet") == pytest.approx(3.0, abs=1.2)
    assert pct(k4, pl.col("group") == "not_known") == pytest.approx(2.5, abs=1.2)


def test_ks4_gaps(leavers):
    k4 = leavers.filter(pl.col("key_stage") == "KS4")
    dis = pct(k4.filter(pl.col("disadvantaged")), pos)
    other = pct(k4.filter(~pl.col("disadvantaged")), pos)
    assert dis == pytest.approx(87.7, abs=2.5)
    assert other == pytest.approx(95.7, abs=1.5)
    assert other - dis == pytest.approx(8.0, abs=3)
    assert pct(k4.filter(pl.col("sen_provision") == "K"), pos) == pytest.approx(88.5, abs=3)
    assert pct(k4.filter(pl.col("sen_provision") == "E"), pos) == pytest.approx(90.0, abs=4)
    boys, girls = (k4.filter(pl.col("sex") == s) for s in ("M", "F"))
    app = pl.col("group") == "apprenticeship"
    assert pct(boys, app) > 1.3 * pct(girls, app)
    assert pct(boys, app) == pytest.approx(4.3, abs=1.2)
    assert pct(girls, app) == pytest.approx(2.5, abs=1)
    assert pct(girls, pl.col("group") == "education") > pct(boys, pl.col("group") == "education")


def test_1618_rates(leavers):
    k5 = leavers.filter(pl.col("key_stage") == "16-18")
    assert k5.height > 10000
    assert pct(k5, pos) == pytest.approx(79.0, abs=3)
    assert pct(k5, pl.col("sub_group") == "higher_education") > 30
    boys, girls = (k5.filter(pl.col("sex") == s) for s in ("M", "F"))
    app = pl.col("group") == "apprenticeship"
    assert pct(boys, app) == pytest.approx(8.3, abs=2)
    assert pct(girls, app) == pytest.approx(5.1, abs=1.5)
    assert pct(girls, pos) > pct(boys, pos)
    gap = pct(k5.filter(~pl.col("disadvantaged")), pos) - pct(k5.filter(pl.col("disadvantaged")), pos)
    assert gap == pytest.approx(14.3, abs=4)


def test_characteristics_at_national_proportions(leavers):
    k4 = leavers.filter(pl.col("key_stage") == "KS4")
    assert pct(k4, pl.col("sex") == "M") == pytest.approx(51, abs=2)
    assert pct(k4, pl.col("disadvantaged")) == pytest.approx(25, abs=4)
    assert pct(k4, pl.col("fsm_eligible")) == pytest.approx(24, abs=4)
    assert pct(k4, pl.col("looked_after")) == pytest.approx(1, abs=0.6)
    assert pct(k4, pl.col("sen_provision") == "K") == pytest.approx(12.5, abs=2)
    assert 2 <= pct(k4, pl.col("sen_provision") == "E") <= 4
    assert pct(k4, pl.col("ethnicity") == "WBRI") == pytest.approx(62, abs=8)
    assert k4.filter(pl.col("ethnicity").is_in(["REFU", "NOBT"])).height > 0


def test_readiness_drives_neet_risk(leavers):
    k4 = leavers.filter(pl.col("key_stage") == "KS4")
    assert k4["readiness"].is_between(0, 1).all()
    low = k4.filter(pl.col("readiness") < k4["readiness"].quantile(0.2))
    high = k4.filter(pl.col("readiness") > k4["readiness"].quantile(0.8))
    neet_nk = pl.col("group").is_in(["neet", "not_known"])
    assert pct(low, neet_nk) > 4 * pct(high, neet_nk)
    assert k4.filter(pl.col("disadvantaged"))["readiness"].mean() < k4.filter(~pl.col("disadvantaged"))["readiness"].mean()


def test_intended_rounds(pupils):
    k4 = pupils.filter(pl.col("key_stage") == "KS4")
    r1, r2 = (k4.filter(pl.col("round") == r) for r in ("R1", "R2"))
    assert pct(r1, pl.col("destination_code") == "UND") == pytest.approx(12, abs=4)
    assert pct(r2, pl.col("destination_code") == "UND") == pytest.approx(4, abs=2)
    assert pupils.filter(pl.col("round") == "R3", pl.col("destination_code") == "UND").height == 0
    assert pct(r2, pl.col("september_guarantee") == "offer_made") == pytest.approx(91, abs=4)
    assert set(r2["september_guarantee"]) == {"offer_made", "no_offer", "not_appropriate", "not_recorded"}
    # Year 13 leavers are outside the September Guarantee
    assert (pupils.filter(pl.col("year_group") == 13)["september_guarantee"] == "").all()
    w = k4.filter(pl.col("round").is_in(["R2", "R3"])).pivot(
        on="round", index=["upn", "leaving_year"], values="destination_code").drop_nulls()
    assert pct(w, pl.col("R2") == pl.col("R3")) == pytest.approx(80, abs=5)
    # no offer / undecided at R2 -> more often NEET or not known at R3
    j = (k4.filter(pl.col("round") == "R2").select("upn", "leaving_year", "september_guarantee",
                                                   pl.col("destination_code").alias("intended"))
         .join(k4.filter(pl.col("round") == "R3").select("upn", "leaving_year", "group"),
               on=["upn", "leaving_year"]))
    bad = pl.col("group").is_in(["neet", "not_known"])
    assert pct(j.filter(pl.col("september_guarantee") == "no_offer"), bad) > 3 * pct(
        j.filter(pl.col("september_guarantee") == "offer_made"), bad)
    assert pct(j.filter(pl.col("intended") == "UND"), bad) > 3 * pct(j.filter(pl.col("intended") != "UND"), bad)


def test_routes_follow_the_national_sex_pattern(pupils):
    r3 = pupils.filter(pl.col("round") == "R3")
    male = r3.group_by("route").agg((pl.col("sex") == "M").mean().alias("male"), pl.len())
    share = dict(zip(male["route"], male["male"]))
    assert share["Engineering and manufacturing"] >= 0.8
    assert share["Construction and the built environment"] >= 0.8
    assert 0.55 <= share["Digital"] <= 0.85
    assert share["Care services"] <= 0.3
    assert share["Education and early years"] <= 0.15
    assert share["Hair and beauty"] <= 0.15
    assert share["Health and science"] <= 0.4
    assert 0.4 <= share["Academic"] <= 0.6
    # routes only for education / apprenticeship / training; levels valid
    edu = r3.filter(pl.col("group").is_in(["education", "apprenticeship", "training"]))
    assert (edu["route"] != "Not applicable").all()
    assert (r3.filter(pl.col("group").is_in(["neet", "not_known"]))["route"] == "Not applicable").all()
    assert set(edu["level"]) <= {"1", "2", "3", "4+"}
    assert (r3.filter(pl.col("destination_code") == "240")["level"] == "4+").all()
    routes = pl.read_csv("dbt_project/seeds/routes.csv")["route"].to_list()
    assert set(r3["route"]) <= set(routes)


def test_code_mix_is_valid(pupils):
    from pipelines.config import destination_codes

    codes = set(destination_codes())
    assert set(pupils["destination_code"]) <= codes
    r3 = pupils.filter(pl.col("round") == "R3")
    used = set(r3["destination_code"])
    assert {"410", "530", "619", "810", "260"} <= used
    assert pct(r3, pl.col("destination_code") == "710") < 0.3
    assert r3.filter(pl.col("key_stage") == "KS4", pl.col("destination_code") == "260").height == 0
    pid = r3.filter(pl.col("provider_id") != "")["provider_id"]
    assert pid.str.contains(r"^(\d{6}|\d{8})$").all()
    placed = r3.filter(pl.col("group").is_in(["education", "apprenticeship", "training", "employment"]))
    assert (placed["provider"] != "").all() and (placed["provider_id"] != "").all()
    assert (r3.filter(pl.col("group").is_in(["neet", "not_known"]))["provider"] == "").all()
    # own sixth form: provider is the academy itself
    own = r3.filter(pl.col("provider_id") == pl.col("academy_urn"))
    assert own.height > 0 and (own["destination_code"] == "210").all()
