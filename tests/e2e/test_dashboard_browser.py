"""The dashboard in a real browser: Playwright + Debian's headless Chromium against
`streamlit run` on a free port with a fixture data directory.

Screenshots of every page per role go to test-artifacts/screenshots/ (git-ignored)."""
from __future__ import annotations

import os
import re
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
    """`streamlit run` on a copy of the real pipeline snapshot (with its trustee pack)."""
    import dash_fixture_data as fx
    data = tmp_path_factory.mktemp("e2e_data")
    fx.build(data)
    fx.make_users(data)
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


def _download(page, button, tries: int = 3):
    """Click a download button; the download. A click can land while the page re-runs (a
    toggle clicked just before; a loaded machine): the button is replaced and nothing is
    downloaded, so the page is settled and the button clicked again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    for attempt in range(tries):
        try:
            with page.expect_download(timeout=30_000) as dl:
                button.click()
            return dl.value
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise
            _settle(page)


def _login(browser, url, user, password, width=1400, height=1000):
    ctx = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = ctx.new_page()
    page.goto(url)
    _settle(page)
    page.get_by_label("User name", exact=True).fill(user)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    _settle(page)
    # attached, not visible: at tablet width (768 px) the sidebar starts collapsed
    page.wait_for_selector("[data-testid='stSidebarNav']", state="attached", timeout=60_000)
    return ctx, page


def _main(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def _serving(data):
    import pandas as pd
    return lambda name: pd.read_parquet(data / "warehouse" / "serving" / f"{name}.parquet")


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
def test_role_opens_every_page(server, browser, role):
    """Sign in, open every page of the menu, screenshot each (looked at by eye)."""
    url, _ = server
    user, pw, must = ROLES[role]
    ctx, page = _login(browser, url, user, pw)
    labels = _nav_labels(page)
    assert must <= labels, labels
    assert not (HIDDEN[role] & labels), labels
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg", timeout=60_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label in sorted(labels):
        _goto(page, label)
        assert page.locator("[data-testid='stException']").count() == 0, label
        slug = label.lower().replace(" ", "_")
        page.screenshot(path=str(SHOTS / f"{role}_{slug}.png"), full_page=True)
    ctx.close()


def test_director_first_screen_figures(server, browser):
    """Default round, comparator name and value, goals and route rows, as a director sees them."""
    from pipelines.lib import serving_contract as contract
    url, data = server
    mart = _serving(data)
    dm = mart("destination_measures_published")
    year = sorted(dm.loc[dm["round_kind"] == "actual", "leaving_year"].unique())[-1]
    ctx, page = _login(browser, url, "director", "director-pass-123")
    page.wait_for_selector("[data-testid='stMetricValue']", timeout=60_000)
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg", timeout=60_000)
    _settle(page)
    body = _main(page)
    assert f"Showing the latest actual destinations: leavers of {year}, R3" in body
    la = mart("neet_la_comparator")
    la = la[(la["leaving_year"] == year) & (la["key_stage"] == "KS4")].iloc[0].to_dict()
    assert f"{la['comparator_label']} {contract.fmt_number(la['la_neet_pct'], 'pct')}%" in body
    nn = mart("neet_not_known_published")
    t = nn[(nn["level"] == "trust") & (nn["leaving_year"] == year) & (nn["key_stage"] == "KS4")
           & (nn["breakdown_topic"] == "Total")].iloc[0].to_dict()
    assert contract.show(t, "neet_pct") + "%" in body
    # a click's rerun may not have started when _settle first looks: wait for what it draws
    page.get_by_role("button", name=re.compile("^Latest intended round")).click()
    back = page.get_by_role("button", name=re.compile("^Back to the latest actual round"))
    back.wait_for(timeout=60_000)
    _settle(page)
    back.click()
    page.get_by_role("button", name=re.compile("^Latest intended round")).wait_for(timeout=60_000)
    _settle(page)
    assert f"Showing the latest actual destinations: leavers of {year}, R3" in _main(page)

    _goto(page, "Stereotype goals")
    gp = mart("goal_progress_published")
    assert gp["goal_id"].nunique() == 7
    trust_goals = [r for r in gp.to_dict("records") if r["level"] == "trust" and r["leaving_year"] == year
                   and r["round"] == "R3"]
    assert len(trust_goals) == 7
    met = sum(1 for r in trust_goals if contract.state(r, "share_pct") is None and bool(r["is_on_track"]))
    assert f"{met} of 7 goals met, {year} R3" in _main(page)
    _goto(page, "Destinations")
    rp = mart("destination_routes_published")
    want = rp[(rp["level"] == "trust") & (rp["leaving_year"] == year) & (rp["round"] == "R3")
              & (rp["key_stage"] == "KS4")]
    grid = page.locator("[data-testid='stDataFrame']").nth(2)   # by sub-group, by academy, routes
    grid.scroll_into_view_if_needed()
    assert "Most common route" in _main(page)
    # a plotly chart offers its PNG download in the mode bar
    chart = page.locator("[data-testid='stPlotlyChart']").first
    chart.hover()
    titles = page.locator(".modebar-btn").evaluate_all("els => els.map(e => e.getAttribute('data-title'))")
    assert "Download plot as a PNG" in titles
    assert len(want) > 5
    # the route rows shown are the published cells: the table's own download, row by row
    got = _download(page, page.locator(".st-key-csv_routes button"))
    import pandas as pd
    shown = pd.read_csv(got.path(), dtype=str, keep_default_na=False).set_index("route")
    assert sorted(shown.index) == sorted(want["route"])
    for r in want.to_dict("records"):
        expect = contract.SUPPRESSED if contract.withheld(r, "pupils") else str(int(r["pupils"]))
        assert shown.loc[r["route"], "pupils"].removesuffix(".0") == expect, r["route"]
    page.screenshot(path=str(SHOTS / "director_destinations_routes.png"), full_page=True)
    _goto(page, "Trustee report")
    page.wait_for_selector("[data-testid='stImage'] img", timeout=60_000)
    assert "Download PDF" in _main(page)
    page.screenshot(path=str(SHOTS / "director_trustee_report_preview.png"), full_page=True)
    ctx.close()


def test_tablet_width(server, browser):
    url, _ = server
    ctx, page = _login(browser, url, "director", "director-pass-123", width=768, height=1024)
    page.wait_for_selector("[data-testid='stMetricValue']", timeout=60_000)
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg", timeout=60_000)
    _settle(page)
    page.screenshot(path=str(SHOTS / "tablet_director_overview.png"), full_page=True)
    labels = page.locator("[data-testid='stMetricLabel']").all_inner_texts()
    assert "In education, employment or training" in [x.strip() for x in labels]
    # the label wraps instead of being cut off: its box is as wide as its text needs
    box = page.locator("[data-testid='stMetricLabel']").nth(1).bounding_box()
    assert box["height"] > 20
    # nothing runs off the side: the main column fits the 768 px viewport
    assert page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollWidth") <= 768
    # the goals verdict is in view beside the goal, not cut off at the right
    page.locator("[data-testid='stExpandSidebarButton']").click()
    page.locator("[data-testid='stSidebarNav'] a", has_text="Stereotype goals").first.click()
    _settle(page)
    grid = page.locator("[data-testid='stDataFrame']").first
    head = grid.bounding_box()
    assert head["x"] + head["width"] <= 768
    page.screenshot(path=str(SHOTS / "tablet_director_goals.png"), full_page=True)
    ctx.close()


def test_academy_sees_own_academy_and_explained_empty_states(server, browser):
    import dash_fixture_data as fx
    url, _ = server
    ctx, page = _login(browser, url, "alder", "alder-pass-123")
    body = _main(page)
    assert f"{fx.N1} ({fx.U1})" in body
    assert fx.N2 not in body and fx.N3 not in body
    _goto(page, "NEET risk")
    page.screenshot(path=str(SHOTS / "academy_neet_risk_reasons.png"), full_page=True)
    assert "this reason only" in page.locator("[data-testid='stPlotlyChart']").first.inner_html()
    ctx.close()


def test_direct_url_to_unlisted_page_shows_no_pupils(server, browser):
    url, _ = server
    ctx, page = _login(browser, url, "director", "director-pass-123")
    page.goto(f"{url}/neet_risk")
    _settle(page)
    body = page.locator("[data-testid='stMain']").inner_text()
    assert "upn" not in body.lower()
    ctx.close()


def test_upload_good_file_shows_received(server, browser, tmp_path):
    pytest.importorskip("pipelines.lib.returns.submit", reason="submit_file not available yet")
    import dash_fixture_data as fx
    url, data = server
    good = tmp_path / "alder_good.csv"
    good.write_bytes(fx.return_csv(20))
    ctx, page = _login(browser, url, "alder", "alder-pass-123")
    _goto(page, "Upload a return")
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(good))
    page.wait_for_selector(f"text={good.name}", timeout=30_000)
    _settle(page)
    button = page.get_by_role("button", name="Check and submit")
    confirm = page.get_by_text(re.compile("^Yes, replace the"))
    for _ in range(60):  # the page re-runs after the upload: either the button or the confirmation
        if confirm.count():
            confirm.click()
            _settle(page)
        if button.is_enabled():
            break
        page.wait_for_timeout(500)
    button.click()
    _settle(page)
    page.wait_for_selector("text=being processed", timeout=60_000)
    page.screenshot(path=str(SHOTS / "academy_upload_received.png"), full_page=True)
    assert list((data / "raw" / "returns" / fx.U1).rglob("*alder_good*"))
    ctx.close()


def test_download_is_formula_safe_csv(server, browser):
    url, _ = server
    ctx, page = _login(browser, url, "admin", "admin-pass-123")
    got = _download(page, page.get_by_role("button", name="Download CSV").first)
    text = Path(got.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("leaving_year,round")
    assert len(text.splitlines()) > 2
    ctx.close()


def _sweep(page, labels) -> tuple[str, list[tuple[str, str, bytes]]]:
    """Open every page; keep its whole HTML and every file its download buttons give."""
    html, files = [], []
    for label in sorted(labels):
        _goto(page, label)
        buttons = page.locator("[data-testid='stDownloadButton'] button")
        done: set[int] = set()
        tabs = page.get_by_role("tab")
        # a loaded machine can re-render a tab late: sweep the tabs again for buttons not reached
        for sweep in range(3):
            for t in [None] + list(range(tabs.count())):
                if t is not None:
                    tabs.nth(t).click()
                    _settle(page)
                for e in page.locator("[data-testid='stExpander'] details:not([open]) summary").all():
                    e.click()
                _settle(page)
                html.append(page.content())
                for i in range(buttons.count()):
                    if i in done or not buttons.nth(i).is_visible():
                        continue
                    got = _download(page, buttons.nth(i))
                    files.append((label, got.suggested_filename, Path(got.path()).read_bytes()))
                    done.add(i)
                    _settle(page)   # a download click can re-run the page
            if len(done) == buttons.count():
                break
        assert len(done) == buttons.count(), f"{label}: {buttons.count() - len(done)} download(s) not reached"
    return "\n".join(html), files


def test_pupil_names_attack(server, browser):
    """The optional pupil name column, attacked: a director (trustees sign in as directors) and
    another academy's user open every page and download every file they can; a director also
    goes straight to the NEET-risk URL for the academy. No name of a pupil they may not see
    appears. The academy's own careers leader does see its pupils' names (so the search works)."""
    import dash_fixture_data as fx
    from names_attack import found, returned_names, text_of
    url, data = server
    names = returned_names(data)
    every = set().union(*names.values())
    risk = _serving(data)("neet_risk_pupils")
    own = risk[risk["academy_urn"] == fx.U1]
    own = own[own["leaving_year"] == own["leaving_year"].max()]   # the list opens on the latest year
    assert len(own) and own["pupil_name"].notna().all()

    # the academy's own user: names on the list and in its download
    ctx, page = _login(browser, url, "alder", "alder-pass-123")
    _goto(page, "NEET risk")
    page.get_by_text("Flagged pupils only").click()   # the whole list, not only the flagged
    _settle(page)
    mine = Path(_download(page, page.get_by_role("button", name="Download CSV").first).path()).read_text(encoding="utf-8-sig")
    assert "pupil_name" in mine.splitlines()[0]
    assert set(own["pupil_name"]) <= found(every, mine)
    page.screenshot(path=str(SHOTS / "academy_neet_risk_names.png"), full_page=True)
    ctx.close()

    # a director (and trustee): every page, every download, the direct URL: no name at all
    ctx, page = _login(browser, url, "director", "director-pass-123")
    html, files = _sweep(page, _nav_labels(page))
    page.goto(f"{url}/neet_risk?academy={fx.U1}")
    _settle(page)
    html += page.content()
    assert len(files) >= 10, [f[:2] for f in files]
    assert any(n.endswith(".pdf") for _, n, _ in files) and any(n.endswith(".xlsx") for _, n, _ in files)
    print(f"director: {len(files)} downloads, {len(html):,} characters of page HTML, {len(every)} names searched")
    assert not found(every, html)
    for label, name, blob in files:
        assert not found(every, text_of(name, blob)), (label, name)
    ctx.close()

    # another academy's user: only names its own academies returned on their current lists
    ctx, page = _login(browser, url, "multi", "multi-pass-123")
    html, files = _sweep(page, _nav_labels(page))
    page.goto(f"{url}/neet_risk?academy={fx.U1}")
    _settle(page)
    html += page.content()
    allowed = set(risk.loc[risk["academy_urn"].isin([fx.U2, fx.U3]), "pupil_name"])
    forbidden = every - allowed
    assert set(own["pupil_name"]) - allowed, "no name unique to the other academy to look for"
    print(f"other academy: {len(files)} downloads, {len(forbidden)} names it may not see")
    assert not found(forbidden, html)
    for label, name, blob in files:
        assert not found(forbidden, text_of(name, blob)), (label, name)
        assert not found(set(own["upn"]), text_of(name, blob)), (label, name)
    assert not found(set(own["upn"]), html)
    ctx.close()
