"""Sign-in protection in a real browser: guesses from fresh browser sessions lock the user
name on the server; the audit trail shows them to a trust admin."""
from __future__ import annotations

import pytest

from tests.e2e.test_dashboard_browser import (SHOTS, _login, _goto, _settle, browser,  # noqa: F401
                                              server)

pytestmark = [pytest.mark.e2e]


def _try(browser, url, user, password) -> str:  # noqa: F811
    ctx = browser.new_context()  # a fresh browser session (new cookies, new Streamlit session)
    page = ctx.new_page()
    page.goto(url)
    _settle(page)
    page.get_by_label("User name", exact=True).fill(user)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    _settle(page)
    text = page.locator("[data-testid='stApp']").inner_text()
    signed_in = page.locator("[data-testid='stSidebarNav']").count() > 0
    ctx.close()
    return ("SIGNED IN " if signed_in else "") + text


def test_guessing_from_fresh_sessions_locks_the_user_and_is_audited(server, browser):  # noqa: F811
    url, _ = server
    for _ in range(6):
        text = _try(browser, url, "director", "guess-guess-guess")
        assert not text.startswith("SIGNED IN")
    assert "Too many failed sign-ins" in text
    text = _try(browser, url, "director", "director-pass-123")  # right password, still locked
    assert not text.startswith("SIGNED IN") and "Too many failed sign-ins" in text
    ctx, page = _login(browser, url, "admin", "admin-pass-123")
    _goto(page, "Audit trail")
    page.wait_for_selector("[data-testid='stDataFrame']", timeout=60_000)
    assert "Hash chain intact" in page.locator("[data-testid='stApp']").inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "audit_trail.png"), full_page=True)
    ctx.close()
    from pipelines.lib.privacy import audit
    _, data = server
    ev = [e for e in audit.read(data) if e["event"] == "sign_in" and e.get("user") == "director"]
    assert [e["outcome"] for e in ev] == ["failure"] * 5 + ["locked"] * 2
