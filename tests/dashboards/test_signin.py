"""Sign-in that resists guessing: server-side lockout, session expiry, OIDC binding, audit trail."""
from __future__ import annotations

import time

import pytest
from dash_helpers import all_text, app, goto, login

from dashboards.lib import users
from pipelines.lib.privacy import audit


def _events(user: str, event: str = "sign_in") -> list[dict]:
    return [e for e in audit.read() if e.get("user") == user and e.get("event") == event]


def _attempt(name: str, password: str):
    at = app()  # a fresh browser session every time: nothing carried over in the session
    at.text_input(key="login_username").input(name)
    at.text_input(key="login_password").input(password)
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    return at


def test_twenty_wrong_passwords_across_fresh_sessions_lock_the_account(data_env):
    users.add_user("guessme", "trust_admin", password="right-pass-123", replace=True)
    users.unlock("guessme")
    before = len(_events("guessme"))
    for _ in range(20):
        at = _attempt("guessme", "wrong-pass-000")
        assert not at.dataframe and "Sign out" not in [b.label for b in at.button]
    assert "Too many failed sign-ins" in all_text(at)
    # the right password in yet another fresh session is still refused
    at = _attempt("guessme", "right-pass-123")
    assert "Too many failed sign-ins" in all_text(at)
    assert "Sign out" not in [b.label for b in at.button]
    ev = _events("guessme")[before:]
    assert len(ev) == 21
    outcomes = [e["outcome"] for e in ev]
    assert outcomes[:5] == ["failure"] * 5          # five guesses, then the lock
    assert set(outcomes[5:]) == {"locked"}           # every later attempt refused and recorded
    assert users.lock_status("guessme")["locked"]
    assert not audit.verify(), "audit hash chain must stay intact"
    # the data team can unlock; then the right password works
    users.unlock("guessme", by="admin")
    at = _attempt("guessme", "right-pass-123")
    assert "Sign out" in [b.label for b in at.button]


def test_lockout_backs_off_and_unknown_names_are_counted_too(tmp_path, monkeypatch):
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(tmp_path))
    path = tmp_path / "auth" / "users.json"
    users.add_user("clerk", "director", password="clerk-pass-123", path=path)
    pol = users.SignInPolicy(max_failures=3, lockout_minutes=10)
    t = 1_000_000.0
    for i in range(3):
        r = users.sign_in("clerk", "bad-pass-000", path=path, now=t + i, policy=pol)
    assert r.status == "locked" and r.retry_after == pytest.approx(600)
    assert users.sign_in("clerk", "clerk-pass-123", path=path, now=t + 599, policy=pol).status == "locked"
    # after the lock: three more failures lock for twice as long
    for i in range(3):
        r = users.sign_in("CLERK ", "bad-pass-000", path=path, now=t + 700 + i, policy=pol)
    assert r.status == "locked" and r.retry_after == pytest.approx(1200)
    assert users.sign_in("clerk", "clerk-pass-123", path=path, now=t + 700 + 1203, policy=pol).status == "ok"
    # a name that does not exist locks the same way (the answer never reveals existence)
    for i in range(3):
        r = users.sign_in("nobody", "x" * 12, path=path, now=t + i, policy=pol)
    assert r.status == "locked"
    state = (tmp_path / "auth" / "signin_state.json")
    assert oct(state.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("field,ago,message", [
    ("last_seen", 31 * 60, "without activity"),
    ("signed_in_at", 13 * 3600, "Sign in again"),
])
def test_an_expired_session_is_signed_out(data_env, creds, field, ago, message):
    at = login("admin", creds["admin"])
    assert "Sign out" in [b.label for b in at.button]
    auth = at.session_state["td_auth"]
    auth[field] = time.time() - ago
    at.session_state["td_auth"] = auth
    at.run()
    assert not at.exception
    assert "Sign out" not in [b.label for b in at.button]
    assert not at.dataframe and at.text_input(key="login_password")
    assert message in all_text(at)
    ended = _events("admin", "session_ended")
    assert ended and ended[-1]["outcome"] == "expired"


def test_an_active_session_stays_signed_in(data_env, creds):
    at = login("admin", creds["admin"])
    auth = at.session_state["td_auth"]
    auth["last_seen"] = time.time() - 29 * 60
    at.session_state["td_auth"] = auth
    at.run()
    assert "Sign out" in [b.label for b in at.button]


CLAIMS = {"iss": "https://login.microsoftonline.com/tenant-1/v2.0", "sub": "subject-alder-1",
          "email": "head@alder.example.org", "email_verified": True, "name": "Alder Head"}


def test_oidc_unverified_email_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(tmp_path))
    users.add_user("alder", "academy", ["100001"], email="head@alder.example.org")
    for verified in (False, None, "false"):
        claims = {**CLAIMS, "email_verified": verified}
        if verified is None:
            claims.pop("email_verified")
        user, reason = users.oidc_user(claims)
        assert user is None and "not verified" in reason
    assert "oidc_subject" not in users._read_raw(users.users_file())["users"]["alder"]
    refused = [e for e in audit.read() if e["event"] == "sign_in" and e["outcome"] == "refused"]
    assert len(refused) == 3


def test_oidc_binds_issuer_and_subject_at_first_sign_in(tmp_path, monkeypatch):
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(tmp_path))
    users.add_user("alder", "academy", ["100001"], email="head@alder.example.org")
    user, _ = users.oidc_user(CLAIMS)
    assert user is not None and user.username == "alder"
    rec = users._read_raw(users.users_file())["users"]["alder"]
    assert (rec["oidc_issuer"], rec["oidc_subject"]) == (CLAIMS["iss"], CLAIMS["sub"])
    # another identity claiming the same (verified) email is refused: the account is bound
    other, reason = users.oidc_user({**CLAIMS, "sub": "attacker-2"})
    assert other is None and "different sign-in identity" in reason
    other, _ = users.oidc_user({**CLAIMS, "iss": "https://evil.example/", "sub": "subject-alder-1"})
    assert other is None
    # the bound identity still signs in after its email changes at the provider
    user, _ = users.oidc_user({**CLAIMS, "email": "renamed@alder.example.org"})
    assert user is not None and user.username == "alder"
    # updating the user's role keeps the binding
    users.add_user("alder", "academy", ["100001", "100002"], email="head@alder.example.org", replace=True)
    assert users.oidc_user(CLAIMS)[0].urns == ("100001", "100002")


def test_audit_page_admin_only_and_records_pupil_views(data_env, creds):
    at = login("admin", creds["admin"])
    goto(at, "app_pages/neet_risk.py")
    views = [e for e in audit.read() if e.get("event") == "page_view" and e.get("user") == "admin"]
    assert views and views[-1]["page"] == "NEET risk" and views[-1]["rows"] > 0
    n = len(views)
    at.run()  # a rerun of the same page is not a second view
    assert len([e for e in audit.read() if e.get("event") == "page_view"
                and e.get("user") == "admin"]) == n
    goto(at, "app_pages/audit.py")
    text = all_text(at)
    assert "Hash chain intact" in text
    table = at.dataframe[0].value
    assert {"sign_in", "page_view"} <= set(table["event"])
    # a director has no such page
    at = login("director", creds["director"])
    with pytest.raises(ValueError):
        at.switch_page("app_pages/audit.py")
