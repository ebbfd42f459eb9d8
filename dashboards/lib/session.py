"""Who is looking: embedded password login or Streamlit OIDC (st.login), mapped to the user store."""
from __future__ import annotations

import time

import streamlit as st

from dashboards.lib import users as store
from dashboards.lib.users import User

AUTH_KEY = "td_auth"          # {"username": ..., "method": "password"} (never a widget key)
FAILS_KEY = "td_login_fails"
MAX_FAILS = 5
LOCKOUT_SECONDS = 60


def _secrets_section(name: str) -> dict:
    try:
        return dict(st.secrets.get(name, {}) or {})
    except Exception:  # noqa: BLE001 - no secrets.toml at all
        return {}


def oidc_configured() -> bool:
    return bool(_secrets_section("auth"))


def oidc_providers() -> list[str | None]:
    """[None] for a single [auth] provider, else the named [auth.<name>] sections."""
    auth = _secrets_section("auth")
    named = [k for k, v in auth.items() if isinstance(v, dict) or hasattr(v, "keys")]
    return named or [None]


def password_login_enabled() -> bool:
    return bool(_secrets_section("destinations").get("password_login", True))


def _oidc_logged_in() -> bool:
    if not oidc_configured():
        return False
    try:
        return bool(st.user.get("is_logged_in", False))
    except Exception:  # noqa: BLE001
        return False


def current_user() -> User | None:
    """Re-read from the store on every run: a removed or changed user takes effect at once."""
    auth = st.session_state.get(AUTH_KEY)
    if isinstance(auth, dict) and auth.get("method") == "password" and password_login_enabled():
        return store.get_user(str(auth.get("username", "")))
    if _oidc_logged_in():
        return store.find_by_email(str(st.user.get("email") or ""))
    return None


def oidc_email_without_access() -> str | None:
    if _oidc_logged_in() and current_user() is None:
        return str(st.user.get("email") or "")
    return None


def login_form() -> None:
    """The only thing an anonymous visitor sees."""
    st.title("Trust Destinations")
    st.caption("Pupil destinations, NEET and careers for the trust. Sign in to continue.")
    email = oidc_email_without_access()
    if email is not None:
        st.error(f"You signed in as {email}, but that address has no access to this dashboard. "
                 "Ask the trust data team to add you.")
        if st.button("Sign out"):
            st.logout()
        return
    if oidc_configured():
        for provider in oidc_providers():
            label = f"Sign in with {provider.title()}" if provider else "Sign in with your trust account"
            if st.button(label, key=f"sso_{provider or 'default'}", type="primary"):
                st.login(provider) if provider else st.login()
    if not password_login_enabled():
        return
    fails = st.session_state.get(FAILS_KEY, (0, 0.0))
    locked = fails[0] >= MAX_FAILS and time.time() - fails[1] < LOCKOUT_SECONDS
    with st.form("login", clear_on_submit=False):
        username = st.text_input("User name", key="login_username")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if locked:
        st.error("Too many failed sign-ins. Wait a minute and try again.")
        return
    if submitted:
        user = store.authenticate(username, password)
        if user is None:
            n = fails[0] + 1 if time.time() - fails[1] < LOCKOUT_SECONDS * 10 else 1
            st.session_state[FAILS_KEY] = (n, time.time())
            st.error("User name or password not recognised.")
            return
        st.session_state.pop(FAILS_KEY, None)
        st.session_state[AUTH_KEY] = {"username": user.username, "method": "password"}
        for k in ("login_username", "login_password"):
            st.session_state.pop(k, None)
        st.rerun()


def logout() -> None:
    was_password = st.session_state.pop(AUTH_KEY, None) is not None
    for k in [k for k in st.session_state.keys() if str(k).startswith(("f_", "w_"))]:
        del st.session_state[k]
    if not was_password and _oidc_logged_in():
        st.logout()
    st.rerun()


def require(*roles: str) -> User:
    """Every page calls this first: stop unless signed in with one of `roles`."""
    user = current_user()
    if user is None:
        login_form()
        st.stop()
    if roles and user.role not in roles:
        st.error("This page is not available to your account.")
        st.stop()
    return user
