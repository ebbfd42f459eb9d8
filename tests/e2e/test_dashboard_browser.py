"""The dashboard in a real browser: Playwright + Debian's headless Chromium against
`streamlit run` on a free port with a fixture data directory.

Screenshots of every page per role go to test-artifacts/screenshots/ (git-ignored)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
sys.path.insert(0, str(ROOT / "tests" / "dashboards"))

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian chromium at /usr/bin/chromium"),
]

ROLES = {
    "admin": ("admin", "admin-pass-123", {"Overview", "Destinations", "NEET and not known",
                                          "NEET risk", "Upload a return", "Trustee report", "Users",
                                          "Audit trail"}),
    "director": ("director", "director-pass-123", {"Overview", "Destinations", "Trustee report"}),
    "academy": ("alder", "alder-pass-123", {"Overview", "NEET risk", "Upload a return"}),
}
HIDDEN = {"director": {"NEET risk", "Upload a return", "Users", "Audit trail"},
          "academy": {"Users", "Trustee report", "Audit trail"}, "admin": set()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import dash_fixture_data as fx
    data = tmp_path_factory.mktemp("e2e_data")
    fx.build(data)
    fx.make_users(data)
    (data / "reports").mkdir(exist_ok=True)
    (data / "reports" / "trustee_report_2024-25.pdf").write_bytes(b"%PDF-1.4\n% fixture\n")
    port = _free_port()
    env = {**os.environ, "DESTINATIONS_DATA_DIR": str(data)}
    env.pop("DESTINATIONS_USERS_FILE", None)
    log = open(data / "streamlit.log", "w")
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "streamlit"), "run", "dashboards/streamlit_app.py",
         "--server.port", str(port), "--server.headless", "true", "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("streamlit did not start: " + (data / "streamlit.log").read_text())
        yield url, data
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--headless", "--no-sandbox", "--disable-gpu",
                                    "--disable-background-networking"])
        yield b
        b.close()


def _settle(page, timeout=60_000):
    """Streamlit's own harness: connected, script not running, no skeletons."""
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']",
                           timeout=timeout)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                           timeout=timeout)
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0",
                           timeout=timeout)
    page.wait_for_timeout(300)


def _login(browser, url, user, password):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = ctx.new_page()
    page.goto(url)
    _settle(page)
    page.get_by_label("User name", exact=True).fill(user)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    _settle(page)
    page.wait_for_selector("[data-testid='stSidebarNav']", timeout=60_000)
    return ctx, page


def _nav_labels(page) -> set[str]:
    # the icon is a ligature (its name is text): the label is the last line
    return {t.strip().splitlines()[-1].strip()
            for t in page.locator("[data-testid='stSidebarNav'] a").all_inner_texts()}


def _goto(page, title):
    page.locator("[data-testid='stSidebarNav'] a", has_text=title).first.click()
    _settle(page)


def test_anonymous_sees_only_login(server, browser):
    url, _ = server
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(f"{url}/neet_risk?academy=100002")
    _settle(page)
    assert page.get_by_label("Password", exact=True).is_visible()
    assert page.locator("[data-testid='stSidebarNav']").count() == 0
    assert page.locator("[data-testid='stDataFrame']").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "anonymous_login.png"), full_page=True)
    ctx.close()


@pytest.mark.parametrize("role", list(ROLES))
def test_role_menu_pages_and_charts(server, browser, role):
    url, _ = server
    user, pw, must = ROLES[role]
    ctx, page = _login(browser, url, user, pw)
    labels = _nav_labels(page)
    assert must <= labels, labels
    assert not (HIDDEN[role] & labels), labels
    # Overview chart renders as a real plotly SVG
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg", timeout=60_000)
    title = page.locator("[data-testid='stPlotlyChart'] .gtitle").first.text_content()
    assert "Positive destinations" in title
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label in sorted(labels):
        _goto(page, label)
        assert page.locator("[data-testid='stException']").count() == 0, label
        slug = label.lower().replace(" ", "_")
        page.screenshot(path=str(SHOTS / f"{role}_{slug}.png"), full_page=True)
    if role == "academy":  # another academy's name never appears anywhere
        for label in ("Overview", "Destinations", "NEET risk", "Data quality and returns"):
            _goto(page, label)
            body = page.locator("[data-testid='stMain']").inner_text()
            assert "Birch Academy" not in body and "Cedar Small School" not in body
    if role == "director":
        _goto(page, "Destinations")
        assert "c = suppressed" in page.locator("[data-testid='stMain']").inner_text()
    ctx.close()


def test_direct_url_to_unlisted_page_shows_no_pupils(server, browser):
    url, _ = server
    ctx, page = _login(browser, url, "director", "director-pass-123")
    page.goto(f"{url}/neet_risk")
    _settle(page)
    body = page.locator("[data-testid='stMain']").inner_text()
    assert "upn" not in body.lower()
    page.screenshot(path=str(SHOTS / "director_direct_neet_risk_url.png"), full_page=True)
    ctx.close()


def test_upload_good_and_bad_file(server, browser, tmp_path):
    pytest.importorskip("pipelines.lib.returns.submit", reason="submit_file not available yet")
    import dash_fixture_data as fx
    url, data = server
    good = tmp_path / "alder_good.csv"
    good.write_bytes(fx.return_csv(20))
    bad = tmp_path / "alder_bad.csv"
    bad.write_bytes(fx.return_csv(20, bad=True))
    ctx, page = _login(browser, url, "alder", "alder-pass-123")
    _goto(page, "Upload a return")
    for f, expect in ((good, "Accepted"), (bad, "Rejected")):
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(f))
        page.wait_for_selector(f"text={f.name}", timeout=30_000)
        _settle(page)
        page.get_by_role("button", name="Check and submit").click()
        _settle(page)
        page.wait_for_selector(f"text={expect}", timeout=60_000)
        page.screenshot(path=str(SHOTS / f"academy_upload_{expect.lower()}.png"), full_page=True)
    body = page.locator("[data-testid='stMain']").inner_text()
    assert "Rejected" in body
    assert list((data / "raw" / "returns" / "100001").rglob("*alder_good*"))
    assert list((data / "quarantine" / "100001").rglob("*alder_bad*"))
    ctx.close()


def test_download_is_formula_safe_csv(server, browser):
    url, _ = server
    ctx, page = _login(browser, url, "admin", "admin-pass-123")
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download CSV").first.click()
    path = dl.value.path()
    text = Path(path).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("leaving_year,round")
    assert len(text.splitlines()) > 2
    ctx.close()
