"""Figures in the PDF and XLSX equal the mart values; headline sentences match the numbers."""
from __future__ import annotations

import re

import pytest

from tests.report import fixture_data
from tests.report.helpers import norm, table_rows

from pipelines.lib.report.model import round_half_up

PCT_COLS = {"EET %": "positive", "Educ. %": "education", "Appr. %": "apprenticeship", "Empl. %": "employment",
            "Train. %": "training", "NEET %": "neet", "NK %": "not_known"}
NATIONAL_KS4 = {("Total", "Total"): 93.6, ("Disadvantage", "Disadvantaged"): 87.7,
                ("Disadvantage", "Not disadvantaged"): 95.7, ("SEN provision", "No SEN"): 94.4}


def _pub(built, level, urn, ks, topic, b):
    return next(r for r in built.published_rows if r["level"] == level and r["academy_urn"] == urn
                and r["key_stage"] == ks and r["round"] == "R3" and r["breakdown_topic"] == topic
                and r["breakdown"] == b)


@pytest.mark.parametrize("ks,sheet", [("KS4", "Destinations KS4"), ("16-18", "Destinations 16-18")])
def test_subgroup_sheet_equals_mart(built, ks, sheet):
    header, rows = table_rows(built.sheets[sheet])
    assert header[:3] == ["Sub-group type", "Sub-group", "Leavers"]
    shown = 0
    for r in rows:
        rec = dict(zip(header, r))
        mart = built.mart("trust", None, ks, rec["Sub-group type"], rec["Sub-group"])
        pub = _pub(built, "trust", None, ks, rec["Sub-group type"], rec["Sub-group"])
        if rec["Leavers"] == "z":
            assert mart["cohort"] == 0
            continue
        if rec["Leavers"] != "c":
            assert rec["Leavers"] == mart["cohort"]
        for col, m in PCT_COLS.items():
            v = rec[col]
            if pub[m] is None:  # withheld in the published mart -> withheld in the pack
                assert v == "c", (rec["Sub-group"], col)
            if v not in ("c", "z", "-"):
                assert v == round_half_up(mart[f"{m}_pct"], 1), (rec["Sub-group"], col)
                shown += 1
        other = mart["other"] + mart["undecided"] + mart["excluded"]
        if rec["Other %"] not in ("c", "z"):
            assert rec["Other %"] == round_half_up(100 * other / mart["cohort"], 1)
        nat = NATIONAL_KS4.get((rec["Sub-group type"], rec["Sub-group"])) if ks == "KS4" else None
        if nat is not None:
            assert rec["Nat. EET %"] == nat  # is_latest publication, not the older one (nat - 5)
            if rec["EET %"] != "c":
                assert rec["Diff. pp"] == round_half_up(mart["positive_pct"] - nat, 1)
            else:
                assert rec["Diff. pp"] == "c"
    assert shown > 20


def test_pdf_table_rows_equal_mart(built):
    """The KS4 sub-group table as printed in the PDF: Total and Disadvantaged rows token by token."""
    page = next(p for p in built.pages if "Destinations of Year 11 leavers by sub-group" in p)
    lines = [norm(x) for x in page.splitlines()]
    header, rows = table_rows(built.sheets["Destinations KS4"])
    for want in (("Total", "Total"), ("Disadvantage", "Disadvantaged")):
        rec = dict(zip(header, next(r for r in rows if (r[0], r[1]) == want)))
        mart = built.mart("trust", None, "KS4", *want)
        tokens = [f"{mart['cohort']:,}"]
        for col in ["EET %", "Educ. %", "Appr. %", "Empl. %", "Train. %", "NEET %", "NK %"]:
            m = PCT_COLS[col]
            tokens.append("c" if rec[col] == "c" else f"{round_half_up(mart[m + '_pct'], 1):.1f}")
        expected = " ".join(want) + " " + " ".join(tokens)
        assert any(line.startswith(expected) for line in lines), (expected, lines)


def test_appendix_equals_mart(built):
    header, rows = table_rows(built.sheets["Academy appendix"])
    checked = 0
    topic = {"Total": "Total", "Disadvantaged": "Disadvantage", "Not disadvantaged": "Disadvantage",
             "No SEN": "SEN provision", "SEN support": "SEN provision", "EHC plan": "SEN provision",
             "Female": "Sex", "Male": "Sex"}
    for r in rows:
        rec = dict(zip(header, r))
        ks = rec["Key stage"]
        mart = built.mart("academy", rec["URN"], ks, topic[rec["Sub-group"]], rec["Sub-group"])
        assert rec["Academy"] == mart["academy_name"]
        if rec["Leavers"] not in ("c", "z"):
            assert rec["Leavers"] == mart["cohort"]
        for col, m in PCT_COLS.items():
            if rec[col] not in ("c", "z", "-"):
                assert rec[col] == round_half_up(mart[f"{m}_pct"], 1)
                checked += 1
    assert checked > 30
    # every academy has its own appendix table in the PDF
    for urn, name, *_ in fixture_data.ACADEMIES:
        assert f"{name} (URN {urn}): destinations 2024-25" in built.text


def test_neet_by_academy_equals_mart(built):
    header, rows = table_rows(built.sheets["NEET by academy KS4"])
    recs = {r[0]: dict(zip(header, r)) for r in rows}
    trust = built.mart("trust", None, "KS4", "Total", "Total")
    assert recs["Trust"]["Leavers"] == trust["cohort"]
    if recs["Trust"]["NEET %"] != "c":
        assert recs["Trust"]["NEET %"] == round_half_up(trust["neet_pct"], 1)
    eng = recs["England (NCCIS 16-17)"]
    assert (eng["NEET %"], eng["Not known %"], eng["NEET or NK %"]) == (3.4, 2.2, 5.6)
    for name, rec in recs.items():
        if rec["NEET or NK %"] not in ("c", "-") and name not in ("Trust", "England (NCCIS 16-17)"):
            urn = next(u for u, n, *_ in fixture_data.ACADEMIES if n == name)
            m = built.mart("academy", urn, "KS4", "Total", "Total")
            assert rec["NEET or NK %"] == round_half_up(m["neet_pct"] + m["not_known_pct"], 1)


def test_gap_sheet_equals_mart(built):
    header, rows = table_rows(built.sheets["Gaps"])
    rec = dict(zip(header, next(r for r in rows if r[0] == "KS4" and r[1] == "Disadvantaged vs Not disadvantaged"
                                and r[2] == "EET")))
    d = built.mart("trust", None, "KS4", "Disadvantage", "Disadvantaged")
    nd = built.mart("trust", None, "KS4", "Disadvantage", "Not disadvantaged")
    assert rec["Group %"] == round_half_up(d["positive_pct"], 1)
    assert rec["Comp. %"] == round_half_up(nd["positive_pct"], 1)
    assert rec["Trust gap (pp)"] == round_half_up(d["positive_pct"] - nd["positive_pct"], 1)
    assert rec["National gap (pp)"] == round_half_up(87.7 - 95.7, 1)


def test_goals_section(built):
    header, rows = table_rows(built.sheets["Stereotype goals"])
    recs = {r[0]: dict(zip(header, r)) for r in rows}
    eng = recs["Girls into engineering and manufacturing"]
    assert (eng["Base"], eng["Count"], eng["Trust %"], eng["Target %"], eng["National %"], eng["On track?"]) == \
        (40, 7, 17.5, 20.0, 10.3, "No")
    assert recs["Boys into care services"]["On track?"] == "Yes"
    dig = recs["Girls into digital"]
    assert dig["Trust %"] == "c" and dig["On track?"] == "c"


def test_headline_findings_match_numbers(built):
    import json
    findings = json.loads(built.out["summary"].read_text())["findings"]
    assert len(findings) == 5
    for f in findings:  # every sentence is printed on page 1
        assert norm(f) in norm(built.pages[0])
    tot = built.mart("trust", None, "KS4", "Total", "Total")
    m = re.match(r"(\d+)% of the trust's ([\d,]+) Year 11 leavers in 2024-25 .* against (\d+)% of all pupils "
                 r"nationally \(2022-23 leavers", findings[0])
    assert m, findings[0]
    assert int(m.group(1)) == round_half_up(tot["positive_pct"], 0)
    assert int(m.group(2).replace(",", "")) == tot["cohort"]
    assert int(m.group(3)) == round_half_up(93.6, 0)
    d = built.mart("trust", None, "KS4", "Disadvantage", "Disadvantaged")
    nd = built.mart("trust", None, "KS4", "Disadvantage", "Not disadvantaged")
    m = re.match(r"(\d+)% of disadvantaged Year 11 leavers went into education, employment or training, "
                 r"against (\d+)% of disadvantaged pupils nationally", findings[1])
    assert m and int(m.group(1)) == round_half_up(d["positive_pct"], 0) and int(m.group(2)) == 88
    m = re.match(r"Disadvantaged Year 11 leavers were ([\d.]+) percentage points (less|more) likely.*national gap "
                 r"was ([\d.]+) points", findings[2])
    gap = nd["positive_pct"] - d["positive_pct"]
    assert m and float(m.group(1)) == round_half_up(abs(gap), 1)
    assert m.group(2) == ("less" if gap > 0 else "more")
    assert float(m.group(3)) == round_half_up(95.7 - 87.7, 1)
    neet_f = next(f for f in findings if "NEET" in f)
    m = re.match(r"([\d.]+)% of Year 11 leavers were NEET or not known \(NEET ([\d.]+)%, not known ([\d.]+)%, "
                 r"each rounded\); nationally 5.6%", neet_f)
    if m:
        assert float(m.group(1)) == round_half_up(tot["neet_pct"] + tot["not_known_pct"], 1)
        assert float(m.group(2)) == round_half_up(tot["neet_pct"], 1)
        assert float(m.group(3)) == round_half_up(tot["not_known_pct"], 1)
    else:
        m = re.match(r"([\d.]+)% of Year 11 leavers were NEET in the autumn", neet_f)
        assert m and float(m.group(1)) == round_half_up(tot["neet_pct"], 1)


def test_key_figures_on_page_one(built):
    header, rows = table_rows(built.sheets["Key figures"])
    rec = dict(zip(header, rows[0]))
    tot = built.mart("trust", None, "KS4", "Total", "Total")
    assert rec["Leavers"] == "Year 11 leavers" and rec["Number"] == tot["cohort"]
    assert rec["EET %"] == round_half_up(tot["positive_pct"], 1) and rec["National EET %"] == 93.6
    assert rec["England NEET or NK %"] == 5.6
    assert f"Year 11 leavers {tot['cohort']} {round_half_up(tot['positive_pct'], 1):.1f} 93.6" in norm(built.pages[0])


def test_careers_sections_equal_marts(built):
    from tests.report.helpers import COMPASS_NAT, FSQ, READINESS
    header, rows = table_rows(built.sheets["FSQ"])
    assert header == ["Group", "Construct", "Year 10 %", "Year 11 %", "Year 13 %"]
    recs = {r[1]: dict(zip(header, r)) for r in rows}
    for r in FSQ:  # trust, Total, latest survey round (summer)
        if r["level"] == "trust" and r["survey_round"] == "summer":
            got = recs[r["construct_label"]][f"Year {r['year_group']} %"]
            assert got == ("c" if r["positive_pct"] is None else round_half_up(r["positive_pct"], 1))
    assert recs["Pupils responding"]["Year 11 %"] == 140
    assert "(summer survey)" in built.sheets["FSQ"][0][0]
    header, rows = table_rows(built.sheets["FSQ readiness"])
    recs = {r[1]: dict(zip(header, r)) for r in rows}
    assert "All" not in recs  # the exact NEET-denominator total is never shown
    for r in READINESS[1:]:
        rec = recs[r["readiness_band"]]
        if r["cohort"] is None:
            assert rec["Leavers (nearest 10)"] == "c" and rec["EET %"] == "c"
        else:
            assert (rec["Leavers (nearest 10)"], rec["EET %"], rec["NEET %"]) == \
                (10 * round(r["cohort"] / 10), r["positive_pct"], r["neet_pct"])
    header, rows = table_rows(built.sheets["Compass vs national"])
    recs = {r[2]: dict(zip(header, r)) for r in rows}
    for r in COMPASS_NAT:
        rec = recs["All" if r["benchmark"] == 0 else f"BM{r['benchmark']}"]
        assert rec["Trust"] == round_half_up(r["trust_value"], 1)
        assert rec["National"] == round_half_up(r["national_value"], 1)
    header, rows = table_rows(built.sheets["Compass academies"])
    recs = {r[0]: dict(zip(header, r)) for r in rows}
    # latest evaluation of the academic year (March 2025), not the autumn one or an older year
    assert recs["Northgate Academy"]["Evaluated"] == "2025-03-01"
    assert recs["Riverside School"]["BM8 %"] == 100.0 and recs["Riverside School"]["BM1 %"] == 55.0
    assert recs["Trust average"]["BM1 %"] == round_half_up((50 + 55) / 2, 1)


def test_la_comparator(built):
    header, rows = table_rows(built.sheets["NEET by academy KS4"])
    rec = {r[0]: dict(zip(header, r)) for r in rows}["Northgate Academy"]
    assert rec["Local authority"] == "Manchester" and rec["LA NEET or NK %"] == 7.4
    assert "118" not in " ".join(str(v) for v in rec.values())  # the NCCIS denominator never shown


def test_intended_vs_actual(built):
    header, rows = table_rows(built.sheets["Intended vs actual"])
    recs = {r[0]: dict(zip(header, r)) for r in rows}
    assert set(recs) == {"KS4", "16-18"} and recs["KS4"]["Intended"] == "R2"  # the last intended round
    assert recs["KS4"]["Realised %"] == 75.5
    # one share withheld in the mart: the smallest other is withheld too (they add up to 100)
    assert recs["KS4"]["Not in R3 %"] == "c" and recs["KS4"]["No intention %"] == "c"
    assert recs["16-18"]["Became NEET %"] == 10.0 and recs["16-18"]["Not in R3 %"] == 0.0
