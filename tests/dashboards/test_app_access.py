"""The real app under AppTest: login, role gating, no widening of scope."""
from pathlib import Path

import pandas as pd
import pytest
from dash_helpers import all_text, app, frames, goto, login
from streamlit.testing.v1 import AppTest
from dash_fixture_data import N1, N2, N3, U1, U2, U3  # noqa: F401

PAGES_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "app_pages"
ALL_PAGES = sorted(p.name for p in PAGES_DIR.glob("*.py"))


def _everything_shown(at: AppTest) -> str:
    """Every table cell, widget option and text on the page, as one string."""
    parts = [all_text(at)]
    for df in frames(at):
        if "Provider" not in df.columns:  # providers may be other academies' sixth forms: a destination
            parts.append(df.to_csv(index=False))
    for sb in at.selectbox:
        parts += [str(o) for o in sb.options]
    for c in at.get("plotly_chart"):
        parts.append(str(c.proto.spec if hasattr(c, "proto") else c))
    return "\n".join(parts)


def test_anonymous_sees_only_the_login(data_env):
    at = app()
    assert not at.exception
    assert [t.value for t in at.title] == ["Trust Destinations"]
    assert at.text_input(key="login_username") and at.text_input(key="login_password")
    assert not at.dataframe and not at.metric and not at.get("plotly_chart")
    assert not at.sidebar.button  # no menu, no sign-out
    for page in ALL_PAGES:  # no page is registered for an anonymous visitor
        with pytest.raises(ValueError):
            at.switch_page(f"app_pages/{page}")


@pytest.mark.parametrize("page", ALL_PAGES)
def test_anonymous_running_a_page_file_directly_gets_login(data_env, page):
    at = AppTest.from_file(str(PAGES_DIR / page), default_timeout=60)
    at.query_params["academy"] = U2
    at.run()
    assert not at.exception
    assert not at.dataframe and not at.metric and not at.get("plotly_chart")
    assert at.text_input(key="login_password")


def test_wrong_password_and_lockout(data_env):
    """The lock is per user name on the server (tests/dashboards/test_signin.py has more)."""
    from dashboards.lib import users
    users.add_user("lockme", "director", password="lockme-pass-123", replace=True)
    users.unlock("lockme")
    at = app()
    for i in range(6):
        at.text_input(key="login_username").input("lockme")
        at.text_input(key="login_password").input("nope-nope-nope")
        next(b for b in at.button if b.label == "Sign in").click()
        at.run()
    assert "Too many failed sign-ins" in all_text(at)
    assert not at.dataframe
    # even the right password is refused while locked
    at.text_input(key="login_password").input("lockme-pass-123")
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    assert not at.dataframe and "Sign out" not in [b.label for b in at.button]


def test_removed_user_loses_access_at_next_run(data_env, tmp_path, monkeypatch):
    from dashboards.lib import users
    path = tmp_path / "users.json"
    monkeypatch.setenv("DESTINATIONS_USERS_FILE", str(path))
    users.add_user("temp", "director", password="temp-pass-123", path=path)
    at = login("temp", "temp-pass-123")
    assert at.dataframe
    users.remove_user("temp", path)
    at.run()
    assert not at.dataframe and at.text_input(key="login_password")


@pytest.mark.parametrize("user,pages", [
    ("admin", {"Overview", "Destinations", "NEET and not known", "Disadvantage and SEND gaps",
               "Stereotype goals", "NEET risk", "Future skills and Compass", "Data quality and returns",
               "Upload a return", "Trustee report", "Users", "Audit trail", "Similar schools", "Run now"}),
    ("director", {"Overview", "Destinations", "NEET and not known", "Disadvantage and SEND gaps",
                  "Stereotype goals", "Future skills and Compass", "Data quality and returns",
                  "Trustee report", "Similar schools"}),
    ("alder", {"Overview", "Destinations", "NEET and not known", "Disadvantage and SEND gaps",
               "Stereotype goals", "NEET risk", "Future skills and Compass", "Data quality and returns",
               "Upload a return", "Similar schools"}),
])
def test_menu_per_role(data_env, creds, user, pages):
    from dashboards.streamlit_app import PAGES
    at = login(user, creds[user])
    assert not at.exception
    files = {p[0]: p[1] for p in PAGES}
    reachable = set()
    for path, title in files.items():
        try:
            at.switch_page(path)
        except ValueError:
            continue
        reachable.add(title)
    assert reachable == pages


@pytest.mark.parametrize("page,role_ok", [("neet_risk.py", False), ("upload.py", False),
                                          ("users.py", False), ("audit.py", False),
                                          ("overview.py", True)])
def test_director_direct_page_path_is_checked_by_the_page(data_env, page, role_ok):
    at = AppTest.from_file(str(PAGES_DIR / page), default_timeout=60)
    at.session_state["td_auth"] = _session("director")
    at.run()
    assert not at.exception
    if role_ok:
        assert at.metric
    else:
        assert "not available to your account" in all_text(at)
        assert not at.dataframe


def _session(user: str) -> dict:
    import time
    return {"username": user, "method": "password", "signed_in_at": time.time(), "last_seen": time.time()}


@pytest.mark.parametrize("page", ["users.py", "trustee_report.py", "audit.py"])
def test_academy_direct_page_path_is_checked_by_the_page(data_env, page):
    at = AppTest.from_file(str(PAGES_DIR / page), default_timeout=60)
    at.session_state["td_auth"] = _session("alder")
    at.run()
    assert "not available to your account" in all_text(at)


OTHER = (U2, U3, N2, N3)


@pytest.mark.parametrize("page", [p for p in ALL_PAGES
                                  if p not in ("users.py", "trustee_report.py", "audit.py", "run_now.py")])
def test_academy_never_sees_other_academies(data_env, creds, page):
    """Query parameters and stale session filters naming another URN change nothing."""
    at = AppTest.from_file(str(Path(PAGES_DIR).parent / "streamlit_app.py"), default_timeout=60)
    at.query_params["academy"] = U2
    at.run()
    at.text_input(key="login_username").input("alder")
    at.text_input(key="login_password").input(creds["alder"])
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    at.session_state["f_academy"] = U2        # a forged filter value
    at.session_state["f_risk_academy"] = U3
    goto(at, f"app_pages/{page}")
    shown = _everything_shown(at)
    for other in OTHER:
        assert other not in shown, f"{other} leaked on {page}"
    for sb in at.selectbox:
        if sb.label in ("Academy",):
            assert set(sb.options) <= {f"{N1} ({U1})", "Trust (all academies)",
                                       "All my academies", U1}
    # and the URN it does see is its own
    if page in ("overview.py", "destinations.py", "neet_risk.py"):
        assert U1 in shown


def test_academy_widget_cannot_select_other_urn(data_env, creds):
    at = login("multi", creds["multi"])
    goto(at, "app_pages/destinations.py")
    sb = at.selectbox(key="w_f_academy")
    assert set(sb.options) == {f"{N2} ({U2})", f"{N3} ({U3})",
                               "Trust (all academies)"}


def _choose_script():
    import streamlit as st

    from dashboards.lib import ui
    v = ui.choose("Academy", ["100002", "100003"], "f_academy", "100002", qp="academy")
    st.markdown(f"chosen={v}")


def test_forged_widget_or_query_value_falls_back_inside_scope():
    at = AppTest.from_function(_choose_script, default_timeout=30)
    at.session_state["w_f_academy"] = "100001"   # raw widget state outside the options
    at.session_state["f_academy"] = "100001"
    at.query_params["academy"] = "100001"
    at.run()
    assert not at.exception
    assert "chosen=100002" in all_text(at)
    at2 = AppTest.from_function(_choose_script, default_timeout=30)
    at2.query_params["academy"] = "100003"       # an allowed value is honoured
    at2.run()
    assert "chosen=100003" in all_text(at2)


def test_oidc_login_maps_email_to_user(data_env):
    at = AppTest.from_file(str(PAGES_DIR.parent / "streamlit_app.py"), default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback",
                          "cookie_secret": "x" * 32, "client_id": "id", "client_secret": "s",
                          "server_metadata_url": "https://login.example.org/.well-known/openid-configuration"}
    at.run()
    assert any("Sign in with your trust account" == b.label for b in at.button)
    claims = {"is_logged_in": True, "email": "HEAD@alder.example.org", "name": "Head",
              "iss": "https://login.example.org/", "sub": "alder-head-subject", "email_verified": True}
    # the provider has not verified the address: refused, no data
    at0 = AppTest.from_file(str(PAGES_DIR.parent / "streamlit_app.py"), default_timeout=60)
    at0.secrets["auth"] = at.secrets["auth"]
    at0.user = {**claims, "email_verified": False}
    at0.run()
    assert "not verified" in all_text(at0) and not at0.dataframe and not at0.metric
    at.user = claims
    at.run()
    assert not at.exception
    assert f"URN {U1}" in all_text(at)
    assert at.metric
    # an address that is not in the store gets no data
    at2 = AppTest.from_file(str(PAGES_DIR.parent / "streamlit_app.py"), default_timeout=60)
    at2.secrets["auth"] = at.secrets["auth"]
    at2.user = {"is_logged_in": True, "email": "stranger@example.org", "email_verified": True,
                "iss": "https://login.example.org/", "sub": "stranger-subject"}
    at2.run()
    assert "has no access" in all_text(at2) and not at2.dataframe


def test_oidc_identity_ignored_without_auth_config(data_env):
    """Without [auth] in secrets, a forged st.user never signs anyone in."""
    at = app()
    at.user = {"is_logged_in": True, "email": "head@alder.example.org"}
    at.run()
    assert not at.dataframe and at.text_input(key="login_password")
