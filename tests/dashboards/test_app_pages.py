"""Every page for every role renders on a real pipeline snapshot and shows the published cells."""
import pandas as pd
import pytest
from dash_fixture_data import N1, U1
from dash_helpers import all_text, frames, goto, login

from pipelines.lib import serving_contract as contract

ROLE_PAGES = {
    "admin": ["overview", "destinations", "neet", "gaps", "stereotype", "neet_risk", "careers",
              "data_quality", "upload", "trustee_report", "users"],
    "director": ["overview", "destinations", "neet", "gaps", "stereotype", "careers", "data_quality",
                 "trustee_report"],
    "alder": ["overview", "destinations", "neet", "gaps", "stereotype", "neet_risk", "careers",
              "data_quality", "upload"],
}


def _mart(demo_dir, name) -> pd.DataFrame:
    df = pd.read_parquet(demo_dir / "warehouse" / "serving" / f"{name}.parquet")
    if "academy_urn" in df:
        df["academy_urn"] = df["academy_urn"].astype("string")
    return df


def _latest_actual(demo_dir) -> str:
    dm = _mart(demo_dir, "destination_measures_published")
    return sorted(dm.loc[dm["round_kind"] == "actual", "leaving_year"].unique())[-1]


def _one(df, urn=None, **eq) -> dict:
    m = df["level"].eq("trust") if urn is None else df["academy_urn"].eq(urn)
    for k, v in eq.items():
        m &= df[k] == v
    rows = df[m]
    assert len(rows) == 1, (urn, eq, len(rows))
    return rows.iloc[0].to_dict()


def _metric(at, label):
    return next(m for m in at.metric if m.label == label)


@pytest.mark.parametrize("user", list(ROLE_PAGES))
def test_every_page_renders_for_every_role(data_env, creds, user):
    at = login(user, creds[user])
    for page in ROLE_PAGES[user]:
        goto(at, f"app_pages/{page}.py")
        assert at.title, page
        assert "Traceback" not in all_text(at)


def test_director_first_screen_is_the_latest_actual_round_with_published_cells(data_env, creds, demo_dir):
    year = _latest_actual(demo_dir)
    at = login("director", creds["director"])
    assert at.selectbox(key="w_f_year").value == year and at.selectbox(key="w_f_round").value == "R3"
    assert f"Showing the latest actual destinations: leavers of {year}" in all_text(at)
    dm = _one(_mart(demo_dir, "destination_measures_published"), leaving_year=year, round="R3", key_stage="KS4",
              breakdown_topic="Total")
    nn = _one(_mart(demo_dir, "neet_not_known_published"), leaving_year=year, round="R3", key_stage="KS4",
              breakdown_topic="Total")
    la = _mart(demo_dir, "neet_la_comparator")
    la = la[(la["leaving_year"] == year) & (la["key_stage"] == "KS4")].iloc[0]
    assert _metric(at, "Leavers in cohort").value == contract.show(dm, "cohort")
    assert _metric(at, "In education, employment or training").value == contract.show(dm, "positive_pct") + "%"
    neet = _metric(at, "NEET")
    assert neet.value == contract.show(nn, "neet_pct") + "%"          # custody out of the denominator
    assert f"{la['comparator_label']} {contract.fmt_number(la['la_neet_pct'], 'pct')}%" in all_text(at)
    assert la["la_count"] > 1 and "pupil-weighted" in la["comparator_label"]
    assert "England" in all_text(at) and year[:4] not in ("",)


def test_latest_intended_round_is_one_click_away(data_env, creds, demo_dir):
    dm = _mart(demo_dir, "destination_measures_published")
    newest = sorted(dm["leaving_year"].unique())[-1]
    rnd = sorted(dm.loc[dm["leaving_year"] == newest, "round"].unique())[-1]
    at = login("director", creds["director"])
    next(b for b in at.button if b.label.startswith("Latest intended round")).click().run()
    assert at.selectbox(key="w_f_year").value == newest and at.selectbox(key="w_f_round").value == rnd
    assert "Back to the latest actual round" in [b.label.split(":")[0] for b in at.button]


def test_academy_lands_on_its_own_academy(data_env, creds, demo_dir):
    year = _latest_actual(demo_dir)
    at = login("alder", creds["alder"])
    row = _one(_mart(demo_dir, "destination_measures"), U1, leaving_year=year, round="R3", key_stage="KS4",
               breakdown_topic="Total")
    assert _metric(at, "In education, employment or training").value == contract.show(row, "positive_pct") + "%"
    assert f"{N1} ({U1})" in all_text(at)


def test_withheld_cells_show_c_for_directors(data_env, creds, demo_dir):
    year = _latest_actual(demo_dir)
    pub = _mart(demo_dir, "neet_not_known_published")
    rows = pub[(pub["leaving_year"] == year) & (pub["round"] == "R3") & (pub["key_stage"] == "KS4")
               & (pub["breakdown_topic"] == "Total") & (pub["level"] == "academy")]
    at = login("director", creds["director"])
    goto(at, "app_pages/neet.py")
    tab = frames(at)[0]
    for r in rows.to_dict("records"):
        shown = tab[tab["Academy"].str.contains(r["academy_urn"])].iloc[0]
        assert shown["NEET %"] == contract.show(r, "neet_pct")
    assert any(contract.show(r, "neet_pct") == "c" for r in rows.to_dict("records")), "fixture has a withheld cell"


def test_neet_trust_row_compares_with_the_weighted_la_average(data_env, creds, demo_dir):
    year = _latest_actual(demo_dir)
    la = _mart(demo_dir, "neet_la_comparator")
    la = la[(la["leaving_year"] == year) & (la["key_stage"] == "KS4")].iloc[0]
    at = login("admin", creds["admin"])
    goto(at, "app_pages/neet.py")
    trust = frames(at)[0].query("Academy == 'Trust'").iloc[0]
    assert trust["LA comparator"] == la["comparator_label"]
    assert trust["LA NEET %"] == contract.fmt_number(la["la_neet_pct"], "pct")


def test_every_goal_is_shown_with_the_marts_verdict(data_env, creds, demo_dir):
    year = _latest_actual(demo_dir)
    gp = _mart(demo_dir, "goal_progress_published")
    trust = gp[(gp["level"] == "trust") & (gp["leaving_year"] == year) & (gp["round"] == "R3")]
    recs = trust.to_dict("records")
    met = sum(1 for r in recs if contract.state(r, "share_pct") != "c" and r["is_on_track"])
    at = login("director", creds["director"])
    goto(at, "app_pages/stereotype.py")
    assert f"{met} of {len(trust)} goals met" in all_text(at)
    summary = frames(at)[0]
    assert len(summary) == gp["goal_id"].nunique() == 7
    assert list(summary.columns[:2]) == ["Goal", "Verdict"]   # still in view at tablet width
    for r in trust.to_dict("records"):
        want = "c" if contract.state(r, "share_pct") == "c" else "met" if r["is_on_track"] else "not met"
        assert summary.loc[summary["Goal"] == r["goal_title"], "Verdict"].iloc[0] == want


def test_routes_for_directors_are_the_published_rows(data_env, creds, demo_dir):
    year = _latest_actual(demo_dir)
    rp = _mart(demo_dir, "destination_routes_published")
    want = rp[(rp["level"] == "trust") & (rp["leaving_year"] == year) & (rp["round"] == "R3")
              & (rp["key_stage"] == "KS4")]
    at = login("director", creds["director"])
    goto(at, "app_pages/destinations.py")
    tab = next(df for df in frames(at) if "Route" in df.columns)
    assert len(tab) == len(want) > 5
    for r in want.to_dict("records"):
        assert tab.loc[tab["Route"] == r["route"], "Pupils %"].iloc[0] == contract.show(r, "pupils_pct")
    prov = next(df for df in frames(at) if "Provider" in df.columns)
    assert len(prov) > 0


def test_neet_risk_list_is_own_pupils_for_academy_all_for_admin(data_env, creds, demo_dir):
    risk = _mart(demo_dir, "neet_risk_pupils")
    at = login("alder", creds["alder"])
    goto(at, "app_pages/neet_risk.py")
    year = at.selectbox(key="w_f_risk_year").value
    cur = risk[(risk["leaving_year"] == year) & risk["is_flagged"]]
    tab = frames(at)[-1]
    assert sorted(tab["UPN"]) == sorted(cur.loc[cur["academy_urn"] == U1, "upn"])
    # the name the academy returned is beside each UPN; who and why come first
    want = dict(zip(cur["upn"], cur["pupil_name"]))
    assert list(tab.columns[:3]) == ["Pupil name", "UPN", "Reasons"]
    assert all(want[u] == n for u, n in zip(tab["UPN"], tab["Pupil name"]))
    assert "most common reason" in str(at.get("plotly_chart")[0].proto.spec)
    at = login("admin", creds["admin"])
    goto(at, "app_pages/neet_risk.py")
    assert at.metric[0].value == f"{len(cur):,}"


def test_no_overdue_return_before_the_academy_joined(data_env, creds, demo_dir):
    rs = _mart(demo_dir, "return_status")
    reg = pd.read_csv(demo_dir / "raw" / "academies.csv", dtype=str).set_index("urn")
    for r in rs[rs["timeliness"] == "overdue"].to_dict("records"):
        assert reg.loc[r["academy_urn"], "joined_trust"] <= f"{r['leaving_year'][:4]}-09-01", r
    at = login("admin", creds["admin"])
    goto(at, "app_pages/data_quality.py")
    text = " ".join(frames(at)[0].astype(str).to_numpy().ravel())
    assert "not_due" not in text and "rejected_only" not in text
    assert "Received" in text


def test_feedback_reports_only_for_owner_and_admin(data_env, creds):
    at = login("director", creds["director"])
    goto(at, "app_pages/data_quality.py")
    assert not [b for b in at.get("download_button") if "feedback" in str(b.proto.label).lower()]
    at = login("alder", creds["alder"])
    goto(at, "app_pages/data_quality.py")
    opts = at.selectbox(key="w_dq_report").options
    assert opts and all(U1 in o for o in opts)


def test_not_published_yet_when_serving_is_empty(tmp_path, monkeypatch, creds, demo_dir):
    import shutil
    d = tmp_path / "empty"
    (d / "auth").mkdir(parents=True)
    shutil.copy(demo_dir / "auth" / "users.json", d / "auth" / "users.json")
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(d))
    at = login("admin", creds["admin"])
    assert "not published yet" in all_text(at)
    assert any("returns have arrived" in str(p.proto.label) for p in at.get("page_link"))
    for page in ROLE_PAGES["admin"]:
        goto(at, f"app_pages/{page}.py")


def test_gaps_are_the_published_cells(data_env, creds, demo_dir):
    year = _latest_actual(demo_dir)
    g = _mart(demo_dir, "destination_gaps_published")
    g = g[(g["leaving_year"] == year) & (g["round"] == "R3") & (g["key_stage"] == "KS4") & (g["measure"] == "positive")]
    at = login("director", creds["director"])
    goto(at, "app_pages/gaps.py")
    tab = frames(at)[-1]
    for r in g[g["level"] == "trust"].to_dict("records"):
        row = tab[(tab["Academy"] == "Trust") & (tab["Gap"] == r["gap"])].iloc[0]
        assert row["Gap (pp)"] == contract.show(r, "gap_pp")
        ng, _ = contract.national_gap(r)
        assert row["National gap (pp)"] == (contract.fmt_number(ng, "pp") if ng is not None else "-")


def test_neet_risk_year_does_not_move_the_overview(data_env, creds, demo_dir):
    """The risk list opens on the current (intended) year; the Overview still opens on the
    latest actual round after it."""
    year = _latest_actual(demo_dir)
    at = login("alder", creds["alder"])
    goto(at, "app_pages/neet_risk.py")
    assert at.selectbox(key="w_f_risk_year").value > year
    goto(at, "app_pages/overview.py")
    assert f"Showing the latest actual destinations: leavers of {year}" in all_text(at)
