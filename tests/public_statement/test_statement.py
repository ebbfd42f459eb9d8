"""Public destinations statement: disclosure attack on a special-school cohort, figures, and the
page in a real browser (accessibility: lang, headings, alt text, table headers, no external assets)."""
from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from tests.public_statement.conftest import SECONDARY, SPECIAL

BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _page(out: Path, urn: str) -> Path:
    return next(out.glob(f"{urn}-*.html"))


def _consistent_counts(pct: int, cohort: int, step: int = 5) -> list[int]:
    """Every pupil count an attacker could infer from a printed rounded share."""
    return [k for k in range(cohort + 1) if int(k * 100 / cohort / step + 0.5) * step == pct]


def test_special_school_cohort_shows_no_identifying_figure(public_built, statements_dir):
    rows = pl.read_parquet(public_built.serving / "public_destination_statement.parquet").filter(
        pl.col("academy_urn") == SPECIAL)
    assert set(rows["leavers"].drop_nulls()) == {15}
    html = _page(statements_dir, SPECIAL).read_text()
    tables = re.findall(r"<table.*?</table>", html, flags=re.S)
    assert tables, "the special school has a statement table"
    printed = []
    for t in tables:
        for tr in re.findall(r"<tbody>.*?</tbody>", t, flags=re.S)[0].split("<tr>")[1:]:
            cells = re.findall(r"<td>([^<]*)</td>", tr)[:-1]  # the academy's years; the last is England
            printed += [int(c[:-1]) for c in cells if c.endswith("%") and c[:-1].isdigit()]
    assert printed, "some figures are printed"
    # the attack: from each printed share of 15 leavers, which counts could it be?
    for pct in printed:
        for k in _consistent_counts(pct, 15):
            assert k == 0 or 5 <= k <= 10, f"{pct}% of 15 leavers could be {k} pupils"
    # 3 in a sixth form: "fewer than 5 pupils"; 13 of 15 in EET (all but 2): not published
    sixth = rows.filter((pl.col("measure") == "school_sixth_form") & (pl.col("leaving_year") == "2024-25"))
    assert sixth["public_text"].to_list() == ["fewer than 5 pupils"]
    assert rows.filter(pl.col("measure") == "positive")["public_pct"].null_count() == rows.filter(
        pl.col("measure") == "positive").height
    # the chart's alt text and the summary print the same cells only
    body = html.split("About these figures")[0]
    assert "13.3" not in body and "13 of 15" not in body
    assert "fewer than 5 pupils" in html


def test_statement_figures_come_from_the_public_mart(public_built, statements_dir):
    rows = pl.read_parquet(public_built.serving / "public_destination_statement.parquet").filter(
        (pl.col("academy_urn") == SECONDARY) & (pl.col("leaving_year") == "2024-25") & (pl.col("key_stage") == "KS4"))
    by = {r["measure"]: r for r in rows.iter_rows(named=True)}
    assert by["school_sixth_form"]["public_text"] == "50%"      # 60 of 120
    assert by["further_education"]["public_text"] == "25%"      # 30 of 120
    assert by["employment"]["public_text"] == "5%"              # 5 of 120 (4.2%)
    # 4 NEET of 120: the published layer already hides it (the special school's 2 NEET beside it
    # in the trust total), so the public statement cannot show even "fewer than 5"
    assert by["neet"]["public_pct"] is None and by["neet"]["public_text"] == "not published"
    assert by["not_known"]["public_pct"] is None                # 1 of 120: hidden already when published
    assert by["positive"]["national_pct"] is not None           # England beside it (benchmark seed)
    # EET 115 of 120: the page never shows more than the published layer does
    pub = pl.read_parquet(public_built.serving / "destination_measures_published.parquet").filter(
        (pl.col("academy_urn") == SECONDARY) & (pl.col("leaving_year") == "2024-25") & (pl.col("key_stage") == "KS4")
        & (pl.col("breakdown") == "Total") & (pl.col("round") == "R3")).to_dicts()[0]
    html = _page(statements_dir, SECONDARY).read_text()
    for m, r in by.items():
        if pub[m] is None:
            assert r["public_pct"] is None, m
    if pub["positive"] is None:
        assert by["positive"]["public_text"] == "not published"
        assert "There were 120 pupils who left Year 11 in 2024-25" in html
    else:
        assert by["positive"]["public_text"] == "95%"
        assert "Of the 120 pupils who left Year 11 in 2024-25, 95% went on" in html


def test_public_page_in_a_browser_is_accessible(public_built, statements_dir):
    from playwright.sync_api import sync_playwright

    page_file = _page(statements_dir, SECONDARY)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_file.as_uri())
        assert page.get_attribute("html", "lang") == "en-GB"
        assert page.locator("h1").count() == 1
        assert page.locator("h1").inner_text() == "Where our leavers went: Hill Top Academy"
        h2 = page.locator("h2").all_inner_texts()
        assert h2[:2] == ["After Year 11 (key stage 4)", "After sixth form or college (16 to 18 study)"]
        assert "About these figures" in h2
        imgs = page.locator("img")
        assert imgs.count() == 2
        for i in range(imgs.count()):
            alt = imgs.nth(i).get_attribute("alt") or ""
            assert len(alt) > 40 and "%" in alt
        tables = page.locator("table")
        assert tables.count() == 2
        for i in range(tables.count()):
            t = tables.nth(i)
            assert t.locator("caption").inner_text().startswith(f"Table {i + 1}:")
            heads = t.locator("thead th")
            assert heads.count() == 4  # destination, 2 years (2023-24, 2024-25), England
            assert all(heads.nth(j).get_attribute("scope") == "col" for j in range(heads.count()))
            assert t.locator("tbody th[scope=row]").count() == t.locator("tbody tr").count()
        # the figure a parent reads: school sixth form, 2024-25, KS4 table
        row = page.locator("#table-ks4 tbody tr", has_text="School sixth form")
        cells = row.locator("td").all_inner_texts()
        assert cells[1] == "50%"
        assert page.locator("#table-ks4 tbody tr", has_text="NEET").locator("td").all_inner_texts()[1] \
            == "not published"
        browser.close()
    external = [u for u in requests if not (u.startswith("file:") or u.startswith("data:"))]
    assert external == []


def test_publish_web_command(public_built, tmp_path, monkeypatch, capsys):
    from pipelines.cli import main

    data = public_built.root  # serving lives at <root>/serving; the command reads <data>/warehouse/serving
    (tmp_path / "warehouse").mkdir()
    (tmp_path / "warehouse" / "serving").symlink_to(public_built.serving)
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(tmp_path))
    assert main(["publish-web", "--year", "2024-25", "--out", str(tmp_path / "web")]) == 0
    out = capsys.readouterr().out
    assert "2 academies" in out and data
    assert len(list((tmp_path / "web").glob("*.pdf"))) == 2
    assert (tmp_path / "web" / "index.html").exists()
    assert main(["publish-web", "--year", "2031-32", "--out", str(tmp_path / "w2")]) == 1
    assert "No actual destinations for leaving year 2031-32" in capsys.readouterr().err
    assert main(["publish-web", "--year", "2024/25", "--out", str(tmp_path / "w3")]) == 2
