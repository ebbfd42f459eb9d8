"""Every figure in the pack is one published cell, shown as published (`c`, `z`, integers)."""
from __future__ import annotations

import pytest

from pipelines.lib import serving_contract as contract
from tests.report.helpers import as_dicts


def exp(row: dict | None, col: str, kind: str = "pct"):
    """What the workbook must hold for this published cell."""
    if row is None:
        return "-"
    st = contract.state(row, col)
    if st:
        return st
    return int(row[col]) if kind == "count" else contract.round_half_up(row[col], 1)


def _total(built, mart, ks, topic="Total", breakdown="Total", level="trust", urn=None, rnd="R3"):
    rows = [r for r in built.mart(mart) if r["level"] == level and r["academy_urn"] == urn
            and r["leaving_year"] == built.year and r["round"] == rnd and r["key_stage"] == ks
            and r["breakdown_topic"] == topic and r["breakdown"] == breakdown]
    assert len(rows) <= 1
    return rows[0] if rows else None


@pytest.mark.parametrize("ks", ["KS4", "16-18"])
def test_subgroup_sheet_is_the_published_cells(built, ks):
    rows = as_dicts(built.sheets[f"Destinations {ks}"])
    assert len(rows) > 12
    for r in rows:
        dm = _total(built, "destination_measures_published", ks, r["Sub-group type"], r["Sub-group"])
        nn = _total(built, "neet_not_known_published", ks, r["Sub-group type"], r["Sub-group"])
        assert r["Leavers"] == exp(dm, "cohort", "count")
        assert isinstance(r["Leavers"], (int, str)) and not isinstance(r["Leavers"], float)
        for label, col in (("EET %", "positive_pct"), ("Educ. %", "education_pct"), ("Other %", "other_pct")):
            assert r[label] == exp(dm, col), (r["Sub-group"], label)
        assert r["NEET %"] == exp(nn, "neet_pct") and r["NK %"] == exp(nn, "not_known_pct")


def test_withheld_and_empty_cells_print_as_c_and_z(built):
    every = [v for name, sheet in built.sheets.items() for row in sheet for v in row]
    assert "c" in every
    assert "c = withheld" in built.text and "z = no leavers" in built.text and "- = no figure" in built.text
    # a year with no published comparator (England / LA NEET before NCCIS's first period) is "-",
    # not "z" (which says the trust had no leavers)
    trend = as_dicts(built.sheets["Trend"])
    early = [r for r in trend if r["Leaving year"] < "2023-24"]
    assert early and all(r["England NEET %"] == "-" and r["Leavers"] not in ("z", "-") for r in early)


def test_neet_by_academy_uses_nccis_denominator_and_weighted_la(built):
    for ks in ("KS4", "16-18"):
        rows = as_dicts(built.sheets[f"NEET by academy {ks}"])
        trust = next(r for r in rows if r["Academy"] == "Trust")
        nn = _total(built, "neet_not_known_published", ks)
        assert trust["Leavers*"] == exp(nn, "neet_denominator", "count")
        assert trust["NEET %"] == exp(nn, "neet_pct")
        la = next(r for r in built.mart("neet_la_comparator") if r["leaving_year"] == built.year
                  and r["key_stage"] == ks and r["round"] == "R3")
        assert trust["LA comparator"] == la["comparator_label"] and "pupil-weighted" in la["comparator_label"]
        assert trust["LA NEET %"] == contract.round_half_up(la["la_neet_pct"], 1)
        for r in rows:
            if r["Academy"] == "Trust":
                continue
            a = next(x for x in built.mart("neet_not_known_published") if x["academy_name"] == r["Academy"]
                     and x["level"] == "academy" and x["leaving_year"] == built.year and x["round"] == "R3"
                     and x["key_stage"] == ks and x["breakdown_topic"] == "Total")
            assert r["NEET %"] == exp(a, "neet_pct") and r["LA comparator"] == a["la_name"]


def test_gap_sheet_is_the_published_gaps(built):
    rows = as_dicts(built.sheets["Gaps"])
    assert rows
    for r in rows:
        g = next(x for x in built.mart("destination_gaps_published") if x["level"] == "trust"
                 and x["leaving_year"] == built.year and x["round"] == "R3" and x["key_stage"] == r["Key stage"]
                 and x["gap"] == r["Group vs comparison"]
                 and x["measure"] == {"EET": "positive"}.get(r["Measure"], r["Measure"].lower()))
        assert r["Trust gap (pp)"] == exp(g, "gap_pp")
        ng, ny = contract.national_gap(g)
        assert r["National gap (pp)"] == (contract.round_half_up(ng, 1) if ng is not None else "-")


def test_goals_every_goal_with_the_marts_verdict(built):
    rows = as_dicts(built.sheets["Stereotype goals"])
    trust = [g for g in built.mart("goal_progress_published") if g["level"] == "trust"
             and g["leaving_year"] == built.year and g["round"] == "R3"]
    assert len(rows) == len(trust) == 7
    for g in trust:
        r = next(r for r in rows if r["Goal"].startswith(g["goal_title"]))
        withheld = contract.state(g, "share_pct") == "c"
        assert r["Target"] == ("c" if withheld else "met" if g["is_on_track"] else "not met")
        assert r["Trust %"] == exp(g, "share_pct") and r["Count"] == exp(g, "numerator", "count")
    known = [g for g in trust if contract.state(g, "share_pct") != "c"]
    met = sum(1 for g in known if g["is_on_track"])
    assert f"{met} of the trust's 7 stereotype-countering goals were met" in built.text


def test_key_figures_and_findings(built):
    rows = as_dicts(built.sheets["Key figures"])
    ks4 = rows[0]
    dm = _total(built, "destination_measures_published", "KS4")
    nn = _total(built, "neet_not_known_published", "KS4")
    assert ks4["Number"] == exp(dm, "cohort", "count") and isinstance(ks4["Number"], int)
    assert ks4["EET %"] == exp(dm, "positive_pct") and ks4["NEET %"] == exp(nn, "neet_pct")
    assert ks4["England NEET %"] == exp(nn, "england_neet_pct")
    assert f"{contract.round_half_up(dm['positive_pct'], 0):.0f}% of the trust's {int(dm['cohort']):,}" in built.text


def test_five_year_trend_section_and_chart(built):
    rows = as_dicts(built.sheets["Trend"])
    years = sorted({r["Leaving year"] for r in rows})
    assert 2 <= len(years) <= 5 and years[-1] == built.year
    assert any(p.name == "trend.png" for p in built.out["charts"])


def test_compass_fully_met_are_integers_per_academy(built):
    rows = as_dicts(built.sheets["Compass academies"])
    assert all(isinstance(r["Fully met"], int) for r in rows if r["Academy"] != "Trust average")


def test_charts_are_in_the_workbook(built):
    from openpyxl import load_workbook
    wb = load_workbook(str(built.out["xlsx"]))
    with_images = {ws.title for ws in wb.worksheets if ws._images}
    assert {"Trend", "Destinations KS4", "NEET by academy KS4"} <= with_images


def test_figures_from_the_rows_they_use_are_the_figures_from_every_row(built):
    """assemble reads only the rows load_figures uses (content.figure_rows): the same figures,
    academy names included, as from every row of the four marts."""
    from pipelines.lib.report import build, content
    from pipelines.lib.report.serving import read_mart

    snap = contract.Snapshot(built.serving)
    rnd = build._pick_round(read_mart(snap, build.DEST_MART).rows, built.year)
    keep = content.figure_rows(built.year, rnd)
    every = [build._rows(snap, m) for m in ("destination_measures", "neet_not_known", "benchmark_national_comparison",
                                           "destination_gaps", "neet_la_comparator")]
    some = [build._rows(snap, m, keep) for m in ("destination_measures", "neet_not_known",
                                                 "benchmark_national_comparison", "destination_gaps",
                                                 "neet_la_comparator")]
    assert all(len(s) < len(e) for s, e in zip(some[:4], every[:4]))          # rows were left out
    whole = content.load_figures(built.year, rnd, *every)
    part = content.load_figures(built.year, rnd, *some, names=every[0])
    assert part == whole and part.academy_names and part.trend_dm and part.dm
