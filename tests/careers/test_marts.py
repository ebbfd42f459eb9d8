"""Marts equal an independent Python recomputation on the hand-made trust (real ingest + dbt)."""
from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest
import yaml

import pipelines.config as cfg
from tests.careers.conftest import query
from tests.careers.handmade import POSITIVE, READINESS

pytestmark = pytest.mark.slow

DEST_POSITIVE = {"230", "310", "240", "330"}
DEST_NEET = {"619", "640"}


def _mapping():
    conf = yaml.safe_load((cfg.PROJECT_ROOT / "config" / "fsq_constructs.yaml").read_text())
    return {k: v["construct"] for k, v in conf["items"].items()}


def _round(d: str) -> str:
    m = int(d[5:7])
    return "autumn" if m >= 9 else ("spring" if m <= 4 else "summer")


def _characteristics(ds):
    out = {}
    for r in ds["leavers"]:
        out[r["upn"]] = {"Disadvantage": "Disadvantaged" if r["disadvantaged"] else "Not disadvantaged",
                         "Sex": "Female" if r["sex"] == "F" else "Male",
                         "SEN provision": {"N": "No SEN", "K": "SEN support", "E": "EHC plan"}[r["sen_provision"]]}
    return out


def test_ingest_loaded_every_file(tiny_warehouse):
    statuses = {r.file: r.status for r in tiny_warehouse["fsq"] + tiny_warehouse["compass"]}
    assert all(s != "rejected" for s in statuses.values()), statuses
    unknown = [p for r in tiny_warehouse["fsq"] for p in r.problems if p.rule == "item_unknown"]
    assert [p.value for p in unknown] == ["ZZ99"]
    stored = query(tiny_warehouse["warehouse"], "select count(*) as n from raw.fsq_responses "
                   "where item_id = 'ZZ99' and construct is null")
    assert stored["n"][0] == 1


def test_construct_scores_match_recomputation(tiny_warehouse):
    ds, mapping, chars = tiny_warehouse["ds"], _mapping(), _characteristics(tiny_warehouse["ds"])
    acc = defaultdict(lambda: [0, 0])          # key -> [answered, positive]
    invited, responded = defaultdict(set), defaultdict(set)
    for a in ds["answers"]:
        for level, urn in (("academy", a["academy_urn"]), ("trust", None)):
            topics = [("Total", "Total")] + [(t, chars.get(a["upn"], {}).get(t, "Unknown"))
                                             for t in ("Disadvantage", "SEN provision", "Sex")]
            for topic, bd in topics:
                g = (level, urn, a["academic_year"], _round(a["survey_date"]), a["year_group"], topic, bd)
                invited[g].add((a["academy_urn"], a["upn"]))
                if a["response"]:
                    responded[g].add((a["academy_urn"], a["upn"]))
                    k = g + (mapping[a["item_id"]],)
                    acc[k][0] += 1
                    acc[k][1] += a["response"] in POSITIVE
    got = query(tiny_warehouse["warehouse"], "select * from marts.fsq_construct_scores")
    assert got.height > 0
    checked = 0
    for r in got.iter_rows(named=True):
        g = (r["level"], r["academy_urn"], r["academic_year"], r["survey_round"], r["year_group"],
             r["breakdown_topic"], r["breakdown"])
        assert r["pupils_invited"] == len(invited[g]), g
        assert r["pupils_responding"] == len(responded[g]), g
        assert r["completion_pct"] == pytest.approx(100 * len(responded[g]) / len(invited[g]))
        answered, positive = acc.get(g + (r["construct"],), [0, 0])
        assert r["answers"] == answered and r["positive_answers"] == positive, (g, r["construct"])
        if answered:
            assert r["positive_pct"] == pytest.approx(100 * positive / answered)
            checked += 1
        else:
            assert r["positive_pct"] is None
    # every recomputed group is in the mart (10 constructs per group)
    assert got.select("level", "academy_urn", "academic_year", "survey_round", "year_group", "breakdown_topic",
                      "breakdown").unique().height == len(invited)
    assert checked >= 50
    # non-leavers (no destination return) are Unknown
    y10 = got.filter((got["year_group"] == 10) & (got["breakdown_topic"] == "Disadvantage"))
    assert set(y10["breakdown"]) == {"Unknown"}


def _expected_linkage(ds):
    mapping = _mapping()
    surveys = defaultdict(lambda: [0, 0])  # (upn, date) -> [answered readiness, positive]
    for a in ds["answers"]:
        if a["item_id"] in READINESS and a["response"]:
            s = surveys[(a["upn"], a["survey_date"])]
            s[0] += 1
            s[1] += a["response"] in POSITIVE
    assert all(mapping[i] in ("career_knowledge", "career_readiness") for i in READINESS)
    out = {}
    for lv in ds["leavers"]:
        dates = [d for (u, d) in surveys if u == lv["upn"] and date.fromisoformat(d) <= date(2025, 8, 31)]
        if dates:
            n, p = surveys[(lv["upn"], max(dates))]
            pct = 100 * p / n
            band = "Low" if pct < 50 else ("Medium" if pct < 75 else "High")
            out[lv["upn"]] = (max(dates), pct, band, lv)
        else:
            out[lv["upn"]] = (None, None, "No FSQ", lv)
    return out


def test_linkage_matches_recomputation(tiny_warehouse):
    exp = _expected_linkage(tiny_warehouse["ds"])
    got = query(tiny_warehouse["warehouse"], "select * from marts.fsq_destination_linkage")
    assert got.height == len(exp)
    for r in got.iter_rows(named=True):
        d, pct, band, lv = exp[r["upn"]]
        assert r["readiness_band"] == band, r["upn"]
        assert (r["fsq_survey_date"].isoformat() if r["fsq_survey_date"] else None) == d
        if pct is None:
            assert r["readiness_pct"] is None and not r["has_fsq"]
        else:
            assert r["readiness_pct"] == pytest.approx(pct)
        assert r["is_positive_destination"] == (lv["destination_code"] in DEST_POSITIVE)
        assert r["is_neet"] == (lv["destination_code"] in DEST_NEET)
    # the survey after leaving (2025-10-08) is never used
    assert not (got["fsq_survey_date"] == date(2025, 10, 8)).any()
    # a pupil who never answered has no FSQ
    assert "No FSQ" in set(got["readiness_band"])


def test_rates_by_band_match_recomputation(tiny_warehouse):
    exp = _expected_linkage(tiny_warehouse["ds"])
    by = defaultdict(lambda: [0, 0, 0])
    for _, _, band, lv in exp.values():
        for b in (band, "All"):
            for key in ((b, "Total", "Total"),
                        (b, "Disadvantage", "Disadvantaged" if lv["disadvantaged"] else "Not disadvantaged")):
                by[key][0] += 1
                by[key][1] += lv["destination_code"] in DEST_POSITIVE
                by[key][2] += lv["destination_code"] in DEST_NEET
    got = query(tiny_warehouse["warehouse"], "select * from marts.fsq_destination_rates where level = 'trust' "
                "and breakdown_topic in ('Total', 'Disadvantage')")
    assert got.height == len(by)
    for r in got.iter_rows(named=True):
        n, pos, neet = by[(r["readiness_band"], r["breakdown_topic"], r["breakdown"])]
        assert r["cohort"] == n
        assert r["positive_pct"] == pytest.approx(100 * pos / n)
        assert r["neet_pct"] == pytest.approx(100 * neet / n)


def test_rates_published_suppresses_small_cohorts(tiny_warehouse):
    pub = query(tiny_warehouse["warehouse"], "select * from marts.fsq_destination_rates_published")
    raw = query(tiny_warehouse["warehouse"], "select * from marts.fsq_destination_rates")
    assert pub.height == raw.height
    small = pub.filter((pub["suppressed"]))
    assert small.height > 0 and small["positive_pct"].is_null().all() and small["cohort"].is_null().all()
    # every shown cohort is at least 6 and no shown count is 1 or 2
    shown = pub.filter(~pub["suppressed"])
    assert (shown["cohort"] >= 6).all()
    for c in ("positive", "neet", "not_known"):
        vals = shown[c].drop_nulls()
        assert not vals.is_in([1, 2]).any(), c


def test_construct_scores_published(tiny_warehouse):
    pub = query(tiny_warehouse["warehouse"], "select * from marts.fsq_construct_scores_published")
    shown = pub.filter(~pub["suppressed"])
    assert (shown["pupils_responding"] >= 6).all()
    assert pub.filter(pub["suppressed"])["positive_pct"].is_null().all()
    small = shown.filter(shown["positive_answers"].is_null())
    assert small.height == 0 or (small["suppression_status"] == "partial").all()


def test_compass_framework_break(tiny_warehouse):
    wh = tiny_warehouse["warehouse"]
    summ = query(wh, "select * from marts.compass_academy_summary order by academy_urn, evaluation_date")
    a = summ.filter(summ["academy_urn"] == "140001")
    assert a["benchmarks_fully_achieved"].to_list() == [5, 5, 7, 7, 5]
    first_2025 = a.filter(a["framework_version"] == "2025").row(0, named=True)
    assert first_2025["comparable_with_previous"] is False and first_2025["is_first_after_framework_change"]
    assert first_2025["change_in_benchmarks_fully_achieved"] is None   # never across the break
    assert a.row(2, named=True)["change_in_benchmarks_fully_achieved"] == 2
    trends = query(wh, "select * from marts.compass_benchmark_trends where academy_urn = '140001' "
                   "and framework_version = '2025'")
    assert trends["change_since_previous"].is_null().all() and not trends["comparable_with_previous"].any()
    nat = query(wh, "select * from marts.compass_trust_vs_national where measure = 'avg_benchmarks_fully_achieved'"
                " order by academic_year, framework_version")
    rows = {(r["academic_year"], r["framework_version"]): r for r in nat.iter_rows(named=True)}
    # 2024-25: latest evaluations 140001 2025-06-20 (7) and 140002 2025-06-15 (5) -> 6.0 vs national 5.96
    assert rows[("2024-25", "2018")]["trust_value"] == pytest.approx(6.0)
    assert rows[("2024-25", "2018")]["national_value"] == pytest.approx(5.96)
    # 2025-26 is the 2025 framework: no national comparison
    r25 = rows[("2025-26", "2025")]
    assert r25["national_value"] is None and r25["comparable_with_national"] is False
    assert r25["trust_value"] == pytest.approx(5.0)
