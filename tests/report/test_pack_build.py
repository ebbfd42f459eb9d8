"""Determinism, unavailable sections, the CLI contract, the Dagster asset, and page images."""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timezone

import pytest

from pipelines.lib.report import ReportDataError, build_pack, report_years
from tests.report.helpers import FIXED, REPO, norm, pdf_text, xlsx_sheets


def _strip_stamp(text: str) -> str:
    return re.sub(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC", "Generated <t>", norm(text))


def test_same_inputs_same_document(built, tmp_path):
    again = build_pack(built.year, tmp_path / "a", built.serving, generated_at=FIXED)
    assert again["pdf"].read_bytes() == built.out["pdf"].read_bytes()
    assert xlsx_sheets(again["xlsx"]) == built.sheets
    later = build_pack(built.year, tmp_path / "b", built.serving,
                       generated_at=datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc))
    a, b = pdf_text(built.out["pdf"]), pdf_text(later["pdf"])
    assert [_strip_stamp(x) for x in a] == [_strip_stamp(x) for x in b] and a != b


def test_sections_and_what_is_missing(built, tmp_path):
    for title in ("Five-year trend", "Destinations by sub-group, with national comparison", "NEET and not known",
                  "Disadvantage and SEND gaps", "Stereotype-countering goals against targets",
                  "Future Skills Questionnaire and Compass", "Data completeness", "Methods and caveats",
                  "Appendix: each academy"):
        assert title in built.text
    assert "Open Government Licence v3.0" in built.text and "first two terms" in built.text
    s = tmp_path / "serving"
    shutil.copytree(built.serving, s)
    for p in list(s.glob("goal_progress*")) + list(s.glob("fsq_*")) + list(s.glob("compass_*")):
        p.unlink()
    out = build_pack(built.year, tmp_path / "out", s, generated_at=FIXED)
    text = norm("\n".join(pdf_text(out["pdf"])))
    assert f"Not available for {built.year}: the goal progress mart is not in the serving snapshot" in text
    assert f"Future Skills Questionnaire results are not available for {built.year}" in text


def test_report_years_and_missing_year(built, tmp_path):
    assert report_years(built.serving)[0] == built.year
    with pytest.raises(ReportDataError, match="no destination data for leaving year 2010-11"):
        build_pack("2010-11", tmp_path, built.serving)
    with pytest.raises(ValueError):
        build_pack("2024-2025", tmp_path, built.serving)


def test_cli_exit_codes(built, tmp_path, monkeypatch, capsys):
    from pipelines.cli import main
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(built.data))
    assert main(["report", "--year", "2024/25", "--out", str(tmp_path / "o")]) == 2
    assert main(["report", "--out", str(tmp_path / "o")]) == 2
    assert main(["report", "--year", "2010-11", "--out", str(tmp_path / "o")]) == 1
    assert "no destination data for leaving year 2010-11" in capsys.readouterr().err
    assert main(["report", "--year", built.year, "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / f"trustee_report_{built.year}.pdf").stat().st_size > 10_000
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(tmp_path / "empty"))
    assert main(["report", "--year", built.year, "--out", str(tmp_path / "o2")]) == 1


def test_dagster_asset_builds_latest_year(built, tmp_path):
    import dagster as dg

    from pipelines.defs.publish.documents import documents
    from pipelines.defs.resources import WarehouseResource
    data = tmp_path / "data"
    shutil.copytree(built.serving, data / "warehouse" / "serving")
    res = dg.materialize([documents], resources={"warehouse": WarehouseResource(data_dir=str(data))})
    assert res.success
    md = {m.asset_key.to_user_string(): m.metadata for m in res.asset_materializations_for_node("documents")}
    assert set(md) == {"trustee_report", "governor_packs", "public_statements"}
    assert md["trustee_report"]["leaving_year"].value == built.year and md["trustee_report"]["skipped"].value is False
    assert (data / "reports" / built.year / f"trustee_report_{built.year}.pdf").exists()
    assert md["governor_packs"]["academies"].value == md["governor_packs"]["drawn"].value > 0
    assert len(list((data / "reports" / "governors" / built.year).glob("*.pdf"))) == md["governor_packs"]["academies"].value


def test_render_pages_for_review(built):
    """Page images for a human to look at (test-artifacts/report/, git-ignored)."""
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) not installed")
    out = REPO / "test-artifacts" / "report"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("page-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(built.out["pdf"]), str(out / "page")], check=True)
    pages = sorted(out.glob("page-*.png"))
    assert len(pages) == len(built.pages) >= 8


def test_text_is_never_a_formula(built, tmp_path):
    """A formula-like academy name reaches the workbook as plain text, never as a formula."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from openpyxl import load_workbook
    evil = "=HYPERLINK(\"http://x.example\",\"click\")"
    s = tmp_path / "serving"
    shutil.copytree(built.serving, s)
    rows = pq.read_table(s / "destination_measures_published.parquet").to_pylist()
    urn = next(r["academy_urn"] for r in rows if r["academy_urn"])
    for r in rows:
        if r["academy_urn"] == urn:
            r["academy_name"] = evil
    pq.write_table(pa.Table.from_pylist(rows), s / "destination_measures_published.parquet")
    out = build_pack(built.year, tmp_path / "out", s, generated_at=FIXED)
    wb = load_workbook(str(out["xlsx"]))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value == evil]
    assert cells and all(c.data_type == "s" for c in cells)


def test_no_pupil_identifier_anywhere(built):
    upns = {r["upn"] for r in built.mart("neet_risk_pupils")}
    blob = built.text + " ".join(str(v) for sheet in built.sheets.values() for row in sheet for v in row)
    assert not [u for u in list(upns)[:200] if u and u in blob]


def test_pack_is_drawn_again_only_when_its_marts_change(built, tmp_path):
    """write_trustee_pack: the same published marts (manifest content hashes) draw nothing; one
    academy's changed figure draws the pack again, with that figure; a deleted file is redrawn."""
    import json

    import polars as pl

    from pipelines.lib.report.build import write_trustee_pack
    s, out = tmp_path / "serving", tmp_path / "out"
    shutil.copytree(built.serving, s)
    first = write_trustee_pack(s, built.year, out)
    assert first["rendered"] and first["pdf"].exists()
    stamp = first["pdf"].stat().st_mtime_ns
    assert not write_trustee_pack(s, built.year, out)["rendered"]
    assert first["pdf"].stat().st_mtime_ns == stamp
    # one academy's published EET share moves, as a publish would record it (a new content hash)
    f = s / "destination_measures_published.parquet"
    dm = pl.read_parquet(f)
    total = (pl.col("level") == "academy") & (pl.col("leaving_year") == built.year) & \
        (pl.col("breakdown") == "Total") & (pl.col("round") == "R3") & (pl.col("key_stage") == "KS4")
    urn = sorted(dm.filter(total & pl.col("positive_pct").is_not_null())["academy_urn"].to_list())[0]
    mine = total & (pl.col("academy_urn") == urn)
    assert dm.filter(mine).height == 1
    f.unlink()                                      # may be a hard link into the source snapshot
    dm.with_columns(pl.when(mine).then(pl.lit(12.3)).otherwise(pl.col("positive_pct"))
                    .alias("positive_pct")).write_parquet(f)
    m = json.loads((s / "_manifest.json").read_text())
    assert not write_trustee_pack(s, built.year, out)["rendered"]      # the manifest says unchanged
    m["hashes"]["destination_measures_published"] += ":changed"
    (s / "_manifest.json").write_text(json.dumps(m))
    again = write_trustee_pack(s, built.year, out)
    assert again["rendered"]
    rows = [r for r in xlsx_sheets(again["xlsx"])["Academy appendix"] if r and r[0] == urn]
    total = next(r for r in rows if r[2] == "KS4" and r[3] == "Total")
    assert total[5] == 12.3                          # URN, academy, key stage, sub-group, leavers, EET %
    assert not write_trustee_pack(s, built.year, out)["rendered"]
    again["xlsx"].unlink()
    assert write_trustee_pack(s, built.year, out)["rendered"]


def test_core_fonts_fall_back_to_the_full_fonts(tmp_path):
    """A document whose text needs a glyph outside the core fonts is drawn with the full DejaVu,
    so the character is printed (and extractable), not a missing-glyph box."""
    from pypdf import PdfReader

    from pipelines.lib.report.pdf import FONT_DIR, _para, core_font, draw_pdf, new_pdf

    def draw(text):
        def go(core):
            pdf = new_pdf("t", "a", "f", core_fonts=core)
            pdf.add_page()
            _para(pdf, text)
            return pdf
        return draw_pdf(go)

    plain = draw("Wigan Brook Academy: 45.5% – Ysgol Gŵyr, café")
    assert {f.ttffile for f in plain.fonts.values()} >= {core_font("DejaVuSans.ttf")}
    assert core_font("DejaVuSans.ttf") != FONT_DIR / "DejaVuSans.ttf"
    star = draw("Academy ☆ of the North")
    assert {f.ttffile for f in star.fonts.values()} >= {FONT_DIR / "DejaVuSans.ttf"}
    star.output(str(tmp_path / "s.pdf"))
    assert "Academy ☆ of the North" in PdfReader(str(tmp_path / "s.pdf")).pages[0].extract_text()
