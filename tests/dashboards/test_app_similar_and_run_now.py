"""Similar schools page (scoped per role) and the Run now button (admins only, one run at a time)."""
import time

import pandas as pd
import pytest
from dash_fixture_data import U1, U2
from dash_helpers import all_text, frames, goto, login


def _similar_files(demo_dir):
    serving = demo_dir / "warehouse" / "serving"
    peers = []
    for urn in (U1, U2):
        for k in (1, 2):
            peers.append({"academy_urn": urn, "academy_name": f"A{urn}", "similarity_rank": k,
                          "similar_urn": f"9{urn[1:]}{k}", "similar_name": f"Peer {urn}-{k}", "similar_la_code": "352",
                          "similar_ks4_cohort": 150.0 + k, "similar_disadvantaged_share": 0.3,
                          "similar_has_sixth_form": True, "distance": 0.1 * k, "method": "Nearest 2 schools by X"})
    pd.DataFrame(peers).to_parquet(serving / "similar_schools.parquet")
    comp = [{"academy_urn": urn, "academy_name": f"A{urn}", "key_stage": "KS4", "measure": "positive",
             "measure_order": 1, "academy_leaving_year": "2025-26", "round": "R3", "academy_cohort": 100,
             "academy_pct": pct, "academy_pct_suppressed": pct is None, "similar_schools": 2,
             "similar_leaving_year": "2022-23", "similar_median_pct": 93.5, "similar_min_pct": 92.0,
             "similar_max_pct": 95.0, "difference_pp": None}
            for urn, pct in ((U1, 91.25), (U2, None))]
    pd.DataFrame(comp).to_parquet(serving / "similar_schools_comparison.parquet")


def test_similar_schools_page_scoped_per_role(data_env, creds):
    _similar_files(data_env)
    at = goto(login("director", creds["director"]), "app_pages/similar_schools.py")
    assert sorted(at.selectbox(key="w_similar_academy").options) == sorted(
        at.selectbox(key="w_similar_academy").options)  # both academies listed
    assert len(at.selectbox(key="w_similar_academy").options) == 2
    at.selectbox(key="w_similar_academy").set_value(U1).run()
    peers, comp = frames(at)
    assert list(peers["school"]) == [f"Peer {U1}-1", f"Peer {U1}-2"]
    assert comp.iloc[0]["academy %"] == "91.2" or comp.iloc[0]["academy %"] == "91.3"
    assert comp.iloc[0]["similar median %"] == 93.5
    at.selectbox(key="w_similar_academy").set_value(U2).run()
    assert frames(at)[1].iloc[0]["academy %"] == "c"  # withheld in the published layer
    # an academy user sees only its own academy: no way to pick another
    at = goto(login("alder", creds["alder"]), "app_pages/similar_schools.py")
    assert len(at.selectbox(key="w_similar_academy").options) == 1
    assert f"Peer {U2}" not in frames(at)[0].to_string()


def test_run_now_only_for_admins_and_shows_the_result(data_env, creds, tmp_path, monkeypatch):
    director = login("director", creds["director"])
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in a director's menu
        director.switch_page("app_pages/run_now.py")
    # an empty data directory: the real run stops at once and says why
    monkeypatch.setenv("DESTINATIONS_USERS_FILE", str(data_env / "auth" / "users.json"))
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(tmp_path))
    at = goto(login("admin", creds["admin"]), "app_pages/run_now.py")
    assert "No run has been started" in all_text(at)
    next(b for b in at.button if b.label == "Run now").click()
    at.run(timeout=180)
    from pipelines.config import paths
    from pipelines.lib import runnow
    t0 = time.time()
    while runnow.state(paths(tmp_path)).running and time.time() - t0 < 120:
        time.sleep(0.5)
    at = goto(login("admin", creds["admin"]), "app_pages/run_now.py")
    text = all_text(at)
    assert "did not complete cleanly (exit code 1)" in text
    assert "No raw/ folder" in "\n".join(str(c.value) for c in at.code)


def test_run_now_page_checks_the_role_itself(data_env):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest
    page = Path(__file__).resolve().parents[2] / "dashboards" / "app_pages" / "run_now.py"
    for user in ("director", "alder"):  # straight to the page file, bypassing the menu
        at = AppTest.from_file(str(page), default_timeout=60)
        at.session_state["td_auth"] = {"username": user, "method": "password",
                                       "signed_in_at": time.time(), "last_seen": time.time()}
        at.run()
        assert "not available to your account" in all_text(at)
        assert not [b for b in at.button if b.label == "Run now"]
