"""The dashboard (as a director sees it) and the trustee pack show identical values for every
cell they share, both rendered from the same serving snapshot: headline figures with England and
LA comparators, destinations and NEET / not known by every sub-group and key stage, by academy,
the trend, every gap measure and goal verdicts."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipelines.lib.report.model import display
from tests.report.helpers import as_dicts


def all_text(at) -> str:
    return "\n".join(str(e.value) for kind in ("caption", "markdown", "subheader") for e in at.get(kind))

APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "streamlit_app.py")


@pytest.fixture()
def director(built, monkeypatch):
    from dashboards.lib import users
    path = built.data / "auth" / "users.json"
    if not path.exists():
        users.add_user("director", "director", password="director-pass-123", path=path)
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(built.data))
    monkeypatch.delenv("DESTINATIONS_USERS_FILE", raising=False)

    def open_page(page: str, ks: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120)
        at.session_state["td_auth"] = {"username": "director", "method": "password",
                                       "signed_in_at": time.time(), "last_seen": time.time()}
        at.session_state["f_ks"] = ks
        at.run()
        at.switch_page(f"app_pages/{page}.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.selectbox(key="w_f_year").value == built.year  # both open on the latest actual year
        return at
    return open_page


def shown(sheet_rows, key, label, kind):
    return {r[key]: display(r[label], kind) for r in sheet_rows}


def table_with(at, *columns):
    """The page's table that has all these (display) columns."""
    found = [d.value for d in at.dataframe if set(columns) <= set(d.value.columns)]
    assert found, (columns, [list(d.value.columns) for d in at.dataframe])
    return found[0]


DEST = (("Cohort", "Leavers", "count"), ("EET %", "EET %", "pct"), ("Education %", "Educ. %", "pct"),
        ("Apprenticeship %", "Appr. %", "pct"), ("Employment %", "Empl. %", "pct"),
        ("Training %", "Train. %", "pct"), ("Other (gap year, re-engagement) %", "Other %", "pct"))


@pytest.mark.parametrize("ks", ["KS4", "16-18"])
def test_overview_headline_equals_pack_key_figures(built, director, ks):
    at = director("overview", ks)
    pack = as_dicts(built.sheets["Key figures"])[0 if ks == "KS4" else 1]
    m = {x.label: x.value for x in at.metric}
    assert m["Leavers in cohort"] == display(pack["Number"], "count")
    assert m["In education, employment or training"].rstrip("%") == display(pack["EET %"], "pct")
    assert m["NEET"].rstrip("%") == display(pack["NEET %"], "pct")
    assert f"{display(pack['LA NEET %'], 'pct')}%" in all_text(at)
    # England beside EET (DfE) and beside NEET (NCCIS): the dashboard prints exactly the numbers
    # the pack prints; where the pack has no number (c or -) the dashboard prints none
    numbers = {display(pack[k], "pct") for k in ("England EET %", "England NEET %") if not isinstance(pack[k], str)}
    assert set(re.findall(r"England (-?\d+\.\d)%", all_text(at))) == numbers, (ks, pack)
    trust = next(r for r in as_dicts(built.sheets[f"NEET by academy {ks}"]) if r["Academy"] == "Trust")
    assert m["Not known"].rstrip("%") == display(trust["Not known %"], "pct")


@pytest.mark.parametrize("ks", ["KS4", "16-18"])
def test_neet_by_academy_equals_pack(built, director, ks):
    at = director("neet", ks)
    page = at.dataframe[0].value
    pack = as_dicts(built.sheets[f"NEET by academy {ks}"])
    assert len(pack) == len(page)
    compared = 0
    for r in pack:
        row = page[page["Academy"].str.startswith(r["Academy"])].iloc[0]
        for dash_col, pack_col, kind in (("NEET %", "NEET %", "pct"), ("Not known %", "Not known %", "pct"),
                                         ("NEET denominator", "Leavers*", "count"),
                                         ("LA NEET %", "LA NEET %", "pct"),
                                         ("England NEET %", "England NEET %", "pct")):
            assert row[dash_col] == display(r[pack_col], kind), (r["Academy"], dash_col)
            compared += 1
        assert row["LA comparator"] == r["LA comparator"]
    assert compared >= 5 * 5


def test_goal_verdicts_equal_pack(built, director):
    at = director("stereotype", "KS4")
    page = at.dataframe[0].value
    pack = as_dicts(built.sheets["Stereotype goals"])
    for r in pack:
        row = page[page["Goal"].map(lambda g: r["Goal"].startswith(g))].iloc[0]
        assert row["Verdict"] == r["Target"]
        assert row["Trust / academy %"] == display(r["Trust %"], "pct")
        assert row["Target %"] == display(r["Target %"], "pct")


@pytest.mark.parametrize("ks", ["KS4", "16-18"])
def test_destinations_and_neet_by_every_subgroup_equal_pack(built, director, ks):
    """Every sub-group row of the pack's Destinations and NEET-by-sub-group sheets against the
    Destinations page and the NEET page with the same sub-group type selected."""
    pack = as_dicts(built.sheets[f"Destinations {ks}"])
    pack_nn = as_dicts(built.sheets[f"NEET by sub-group {ks}"])
    topics = list(dict.fromkeys(r["Sub-group type"] for r in pack))
    assert {"Total", "Disadvantage", "SEN provision", "Sex"} <= set(topics)
    dest, neet = director("destinations", ks), director("neet", ks)
    compared = 0
    for topic in topics:
        dest.selectbox(key="w_f_topic").select(topic).run()
        neet.selectbox(key="w_f_topic").select(topic).run()
        assert not dest.exception and not neet.exception
        page = table_with(dest, "Breakdown", "Cohort", "EET %")
        sub = table_with(neet, "Breakdown", "NEET denominator", "NEET %")
        rows = [r for r in pack if r["Sub-group type"] == topic]
        assert rows and len(page) == len(rows), (topic, len(page), len(rows))
        for r in rows:
            row = page[page["Breakdown"] == r["Sub-group"]].iloc[0]
            for dash_col, pack_col, kind in DEST:
                assert row[dash_col] == display(r[pack_col], kind), (ks, topic, r["Sub-group"], dash_col)
                compared += 1
            on_page = sub[sub["Breakdown"] == r["Sub-group"]]
            pn = next((x for x in pack_nn if x["Sub-group type"] == topic and x["Sub-group"] == r["Sub-group"]), None)
            if on_page.empty:   # no NEET row for the group (no actual-round leavers in the NEET mart): neither shows one
                assert pn is None and (r["NEET %"], r["NK %"]) == ("-", "-"), (ks, topic, r["Sub-group"], pn)
                continue
            nrow = on_page.iloc[0]
            for dash_col, pack_col, kind in (("NEET denominator", "Leavers*", "count"), ("NEET %", "NEET %", "pct"),
                                             ("Not known %", "Not known %", "pct")):
                assert nrow[dash_col] == display(pn[pack_col], kind), (ks, topic, r["Sub-group"], dash_col)
                compared += 1
            # the pack's two sheets print the same NEET cells
            assert (r["NEET %"], r["NK %"]) == (pn["NEET %"], pn["Not known %"]), (ks, topic, r["Sub-group"])
    assert compared >= 7 * len(pack) + 3 * len(pack_nn)


@pytest.mark.parametrize("ks", ["KS4", "16-18"])
def test_destinations_by_academy_equal_pack_appendix(built, director, ks):
    """The Destinations page's by-academy table against the pack's academy appendix (Total rows),
    and the appendix's NEET / not known against the NEET-by-academy sheet."""
    page = table_with(director("destinations", ks), "Academy", "Cohort", "EET %")
    app = [r for r in as_dicts(built.sheets["Academy appendix"]) if r["Key stage"] == ks and r["Sub-group"] == "Total"]
    by_academy = {r["Academy"]: r for r in as_dicts(built.sheets[f"NEET by academy {ks}"])}
    assert app and len(app) == len(page)
    for r in app:
        row = page[page["Academy"].str.startswith(r["Academy"])].iloc[0]
        for dash_col, pack_col, kind in DEST:
            assert row[dash_col] == display(r[pack_col], kind), (ks, r["Academy"], dash_col)
        n = by_academy[r["Academy"]]
        assert (r["NEET %"], r["NK %"]) == (n["NEET %"], n["Not known %"]), (ks, r["Academy"])


@pytest.mark.parametrize("ks", ["KS4", "16-18"])
def test_trend_equals_pack(built, director, ks):
    """The overview's every-year table (actual round) against the pack's five-year trend."""
    at = director("overview", ks)
    page = table_with(at, "Leaving year", "Round", "Cohort", "EET %")
    trend = [r for r in as_dicts(built.sheets["Trend"]) if r["Key stage"] == ks]
    assert len(trend) >= 2
    for r in trend:
        row = page[(page["Leaving year"] == r["Leaving year"]) & (page["Round"] == "R3")].iloc[0]
        assert row["Cohort"] == display(r["Leavers"], "count"), (ks, r["Leaving year"])
        assert row["EET %"] == display(r["EET %"], "pct"), (ks, r["Leaving year"])


@pytest.mark.parametrize("ks", ["KS4", "16-18"])
def test_every_gap_measure_equals_pack(built, director, ks):
    at = director("gaps", ks)
    pack = [r for r in as_dicts(built.sheets["Gaps"]) if r["Key stage"] == ks]
    labels = {"EET": "positive", "Education": "education", "Apprenticeship": "apprenticeship", "NEET": "neet"}
    assert {r["Measure"] for r in pack} == set(labels)
    for label, measure in labels.items():
        at.radio(key="w_gap_measure").set_value(measure).run()
        assert not at.exception
        page = table_with(at, "Academy", "Gap", "Gap (pp)")
        for r in (r for r in pack if r["Measure"] == label):
            row = page[(page["Academy"] == "Trust") & (page["Gap"] == r["Group vs comparison"])].iloc[0]
            assert row["Group %"] == display(r["Group %"], "pct"), (ks, label, r["Group vs comparison"])
            assert row["Comparison %"] == display(r["Comp. %"], "pct"), (ks, label, r["Group vs comparison"])
            assert row["Gap (pp)"] == display(r["Trust gap (pp)"], "pp"), (ks, label, r["Group vs comparison"])
            assert row["National gap (pp)"] == display(r["National gap (pp)"], "pp")
