"""Who is looking: embedded password login or Streamlit OIDC (st.login), mapped to the user store."""
from __future__ import annotations

import time

import streamlit as st

from dashboards.lib import users as store
from dashboards.lib.users import User

AUTH_KEY = "td_auth"          # {"username", "method", "signed_in_at", "last_seen"} (never a widget key)
EXPIRED_KEY = "td_expired"    # why the last session ended (shown once on the sign-in form)
VIEWED_KEY = "td_viewed"      # pupil-level views already in the audit trail this session


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


def _claims() -> dict:
    try:
        return {k: st.user.get(k) for k in ("iss", "sub", "email", "email_verified", "name")}
    except Exception:  # noqa: BLE001
        return {}


def _expired(auth: dict, now: float) -> str | None:
    pol = store.signin_policy()
    if now - float(auth.get("signed_in_at", 0)) > pol.absolute_hours * 3600:
        return f"Your session ended after {pol.absolute_hours:g} hours. Sign in again."
    if now - float(auth.get("last_seen", 0)) > pol.idle_minutes * 60:
        return f"You were signed out after {pol.idle_minutes:g} minutes without activity."
    return None


def _end(auth: dict, reason: str, outcome: str) -> None:
    from pipelines.lib.privacy import audit
    st.session_state.pop(AUTH_KEY, None)
    st.session_state[EXPIRED_KEY] = reason
    for k in [k for k in st.session_state.keys() if str(k).startswith(("f_", "w_"))]:
        del st.session_state[k]
    audit.record("session_ended", user=auth.get("username"), outcome=outcome, method=auth.get("method"))


def current_user() -> User | None:
    """Re-read from the store on every run: a removed or changed user takes effect at once.
    Sessions end after the idle and absolute limits (config/trust.yaml `sign_in:`)."""
    now = time.time()
    auth = st.session_state.get(AUTH_KEY)
    if not isinstance(auth, dict) and _oidc_logged_in():
        user, reason = store.oidc_user(_claims())
        if user is None:
            st.session_state["td_oidc_refused"] = reason
            return None
        auth = {"username": user.username, "method": "oidc", "signed_in_at": now, "last_seen": now}
        st.session_state[AUTH_KEY] = auth
    if not isinstance(auth, dict):
        return None
    if auth.get("method") == "password" and not password_login_enabled():
        return None
    why = _expired(auth, now)
    if why:
        _end(auth, why, "expired")
        if auth.get("method") == "oidc" and _oidc_logged_in():
            st.logout()
        return None
    auth["last_seen"] = now
    return store.get_user(str(auth.get("username", "")))


def oidc_email_without_access() -> tuple[str, str] | None:
    if _oidc_logged_in() and current_user() is None:
        return str(st.user.get("email") or ""), str(st.session_state.get("td_oidc_refused") or "")
    return None


def login_form() -> None:
    """The only thing an anonymous visitor sees."""
    st.title("Trust Destinations")
    st.caption("Pupil destinations, NEET and careers for the trust. Sign in to continue.")
    refused = oidc_email_without_access()
    if refused is not None:
        email, reason = refused
        st.error(f"You signed in as {email}, but that sign-in has no access to this dashboard"
                 f"{': ' + reason if reason else ''}. Ask the trust data team to add you.")
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
    ended = st.session_state.pop(EXPIRED_KEY, None)
    if ended:
        st.info(ended)
    with st.form("login", clear_on_submit=False):
        username = st.text_input("User name", key="login_username")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        res = store.sign_in(username, password)  # lockout and back-off kept on the server
        if res.status == "locked":
            st.error(f"Too many failed sign-ins for this user name. Try again in "
                     f"{max(1, round(res.retry_after / 60))} minutes, or ask the trust data team.")
            return
        if res.user is None:
            st.error("User name or password not recognised.")
            return
        now = time.time()
        st.session_state[AUTH_KEY] = {"username": res.user.username, "method": "password",
                                      "signed_in_at": now, "last_seen": now}
        for k in ("login_username", "login_password"):
            st.session_state.pop(k, None)
        st.rerun()


def logout() -> None:
    auth = st.session_state.pop(AUTH_KEY, None)
    was_password = isinstance(auth, dict) and auth.get("method") == "password"
    if isinstance(auth, dict):
        from pipelines.lib.privacy import audit
        audit.record("sign_out", user=auth.get("username"), method=auth.get("method"))
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


# ---------------------------------------------------------------- audit hooks for pages

def audit_view(user: User, page: str, mart: str, rows: int) -> None:
    """Record a pupil-level view once per session, page and mart (not on every rerun)."""
    seen = st.session_state.setdefault(VIEWED_KEY, set())
    key = (page, mart)
    if key in seen:
        return
    seen.add(key)
    from pipelines.lib.privacy import audit
    audit.record("page_view", user=user.username, role=user.role, page=page, mart=mart, rows=rows,
                 urns=",".join(user.urns) or None)


def audited_download(name: str, fmt: str, make):
    """Wrap a download's data callable so the click is in the audit trail."""
    auth = st.session_state.get(AUTH_KEY) or {}

    def _data():
        payload = make()
        from pipelines.lib.privacy import audit
        audit.record("download", user=auth.get("username"), name=name, format=fmt, bytes=len(payload))
        return payload
    return _data
