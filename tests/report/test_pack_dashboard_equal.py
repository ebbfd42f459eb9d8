"""The dashboard (as a director sees it) and the trustee pack show identical values for every
cell they share: headline figures, NEET by academy with its comparators, gaps and goal verdicts."""
from __future__ import annotations

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


@pytest.mark.parametrize("ks", ["KS4", "16-18"])
def test_overview_headline_equals_pack_key_figures(built, director, ks):
    at = director("overview", ks)
    pack = as_dicts(built.sheets["Key figures"])[0 if ks == "KS4" else 1]
    m = {x.label: x.value for x in at.metric}
    assert m["Leavers in cohort"] == display(pack["Number"], "count")
    assert m["In education, employment or training"].rstrip("%") == display(pack["EET %"], "pct")
    assert m["NEET"].rstrip("%") == display(pack["NEET %"], "pct")
    neet = next(x for x in at.metric if x.label == "NEET")
    assert f"{display(pack['LA NEET %'], 'pct')}%" in all_text(at)
    assert f"England {display(pack['England NEET %'], 'pct')}%" in all_text(at)


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
            assert row[dash_col] == display(r[pack_col], kind), (name, dash_col)
            compared += 1
        assert row["LA comparator"] == r["LA comparator"]
    assert compared >= 5 * 5


def test_gaps_equal_pack(built, director):
    at = director("gaps", "KS4")
    page = at.dataframe[-1].value
    pack = [r for r in as_dicts(built.sheets["Gaps"]) if r["Key stage"] == "KS4" and r["Measure"] == "EET"]
    assert pack
    for r in pack:
        row = page[(page["Academy"] == "Trust") & (page["Gap"] == r["Group vs comparison"])].iloc[0]
        assert row["Group %"] == display(r["Group %"], "pct")
        assert row["Gap (pp)"] == display(r["Trust gap (pp)"], "pp")
        assert row["National gap (pp)"] == display(r["National gap (pp)"], "pp")


def test_goal_verdicts_equal_pack(built, director):
    at = director("stereotype", "KS4")
    page = at.dataframe[0].value
    pack = as_dicts(built.sheets["Stereotype goals"])
    for r in pack:
        row = page[page["Goal"].map(lambda g: r["Goal"].startswith(g))].iloc[0]
        assert row["Verdict"] == r["Target"]
        assert row["Trust / academy %"] == display(r["Trust %"], "pct")
        assert row["Target %"] == display(r["Target %"], "pct")


@pytest.mark.parametrize("topic", ["Total", "Disadvantage", "SEN provision", "Sex"])
def test_destinations_by_subgroup_equal_pack(built, director, topic):
    at = director("destinations", "KS4")
    at.selectbox(key="w_f_topic").select(topic).run()
    page = at.dataframe[0].value
    pack = [r for r in as_dicts(built.sheets["Destinations KS4"]) if r["Sub-group type"] == topic]
    assert pack and len(page) == len(pack)
    for r in pack:
        row = page[page["Breakdown"] == r["Sub-group"]].iloc[0]
        for dash_col, pack_col, kind in (("Cohort", "Leavers", "count"), ("Positive %", "EET %", "pct"),
                                         ("Education %", "Educ. %", "pct"), ("Apprenticeship %", "Appr. %", "pct"),
                                         ("Employment %", "Empl. %", "pct"), ("Training %", "Train. %", "pct"),
                                         ("Other %", "Other %", "pct")):
            assert row[dash_col] == display(r[pack_col], kind), (topic, r["Sub-group"], dash_col)
