"""Determinism, unavailable sections, the CLI contract, the Dagster asset, and page images."""
from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.report import fixture_data
from tests.report.helpers import FIXED, REPO, norm, pdf_text, xlsx_sheets

from pipelines.lib.report import ReportDataError, build_pack, report_years


def _strip_stamp(text: str) -> str:
    import re
    return re.sub(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC", "Generated <t>", norm(text))


def test_same_inputs_same_document(built, tmp_path):
    # same snapshot, same timestamp: byte-identical PDF and identical workbook
    again = build_pack(fixture_data.YEAR, tmp_path / "a", built.serving, generated_at=FIXED)
    assert again["pdf"].read_bytes() == built.out["pdf"].read_bytes()
    assert xlsx_sheets(again["xlsx"]) == built.sheets
    # another timestamp: only the generation stamp differs
    later = build_pack(fixture_data.YEAR, tmp_path / "b", built.serving,
                       generated_at=datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc))
    a, b = pdf_text(built.out["pdf"]), pdf_text(later["pdf"])
    assert len(a) == len(b)
    assert [_strip_stamp(x) for x in a] == [_strip_stamp(x) for x in b]
    assert a != b
    sa, sb = built.sheets, xlsx_sheets(later["xlsx"])
    assert set(sa) == set(sb)
    for name in sa:
        assert [[_strip_stamp(v) if isinstance(v, str) else v for v in r] for r in sa[name]] == \
               [[_strip_stamp(v) if isinstance(v, str) else v for v in r] for r in sb[name]], name


def test_sections_say_when_not_available(built, built_unpublished):
    # the second snapshot has only destination_measures and benchmark_measures
    bare = built_unpublished.text
    assert "Future Skills Questionnaire results are not available for 2024-25" in bare
    assert "Compass evaluations are not available for 2024-25" in bare
    assert "Not available for 2024-25: the goal progress mart is not in the serving snapshot" in bare
    for title in ("Destinations by sub-group, with national comparison", "NEET and not known",
                  "Disadvantage and SEND gaps", "Stereotype-countering goals against targets",
                  "Future Skills Questionnaire and Compass", "Data completeness", "Methods and caveats",
                  "Appendix: each academy"):
        assert title in built.text
    assert "Open Government Licence v3.0" in built.text
    assert "sustained" in built.text and "first two terms" in built.text
    # goals come from the published twin
    assert "Girls into engineering and manufacturing" in built.text


def test_completeness_from_return_status(built):
    from tests.report.helpers import RETURN_STATUS, table_rows
    header, rows = table_rows(built.sheets["Data completeness"])
    recs = {(r[0], r[1]): dict(zip(header, r)) for r in rows}
    assert len(recs) == len(RETURN_STATUS)
    assert recs[("Riverside School", "R2")]["On time?"] == "Late"
    assert recs[("Riverside School", "R2")]["First accepted"] == "2025-06-04"
    assert recs[("Hillside Special Academy", "R3")]["On time?"] == "Overdue"
    assert recs[("Hillside Special Academy", "R3")]["Status"] == "Missing"
    assert "Pupils" not in header  # per-return pupil counts could reveal a withheld cohort
    assert recs[("Riverside School", "R2")]["Rows excluded"] == 2
    assert "Of the 9 returns due for this cohort, 7 arrived on time, 1 late and 1 is still outstanding." \
        in built.text
    assert "jane.smith" not in built.text and "raw/returns" not in built.text
    for sheet in built.sheets.values():
        assert not any(isinstance(v, str) and "jane.smith" in v for r in sheet for v in r)


def test_fallback_completeness_without_return_status(built_unpublished):
    assert "Timeliness (on time or late against the due date) is not available for this year" in \
        built_unpublished.text


def test_sheets_have_titles_notes_and_formats(built):
    from openpyxl import load_workbook
    wb = load_workbook(str(built.out["xlsx"]))
    ws = wb["Destinations KS4"]
    assert ws["A1"].value.startswith("Destinations of Year 11 leavers by sub-group")
    header = [c.value for c in ws[4]]
    j = header.index("EET %") + 1
    k = header.index("Leavers") + 1
    assert ws.cell(5, j).number_format == "0.0" and ws.cell(5, k).number_format == "#,##0"
    notes = [ws.cell(r, 1).value for r in range(1, ws.max_row + 1)]
    assert "Notes" in notes
    assert {"Summary", "Methods", "Gaps", "Academy appendix", "Data completeness"} <= set(wb.sheetnames)


def test_report_years_and_missing_year(built, tmp_path):
    assert report_years(built.serving) == ["2024-25"]
    with pytest.raises(ReportDataError, match="no destination data for leaving year 2019-20"):
        build_pack("2019-20", tmp_path, built.serving)
    with pytest.raises(ValueError):
        build_pack("2024-2025", tmp_path, built.serving)


def test_intended_rounds_only_is_not_a_report(tmp_path):
    serving = fixture_data.write_snapshot(tmp_path / "serving", rounds=("R1", "R2"))
    assert report_years(serving) == []
    with pytest.raises(ReportDataError, match="no actual destinations"):
        build_pack(fixture_data.YEAR, tmp_path / "out", serving)


def test_cli_exit_codes(built, tmp_path, monkeypatch, capsys):
    from pipelines.cli import main
    data = tmp_path / "data"
    shutil.copytree(built.serving, data / "warehouse" / "serving")
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(data))
    assert main(["report", "--year", "2024/25", "--out", str(tmp_path / "o")]) == 2
    assert main(["report", "--year", "2024-26", "--out", str(tmp_path / "o")]) == 2
    assert main(["report", "--out", str(tmp_path / "o")]) == 2
    assert main(["report", "--year", "2018-19", "--out", str(tmp_path / "o")]) == 1
    assert "no destination data for leaving year 2018-19" in capsys.readouterr().err
    assert main(["report", "--year", "2024-25", "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "trustee_report_2024-25.pdf").stat().st_size > 10_000
    assert (tmp_path / "o" / "trustee_report_2024-25.xlsx").exists()
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(tmp_path / "empty"))
    assert main(["report", "--year", "2024-25", "--out", str(tmp_path / "o2")]) == 1


def test_dagster_asset_builds_latest_year_and_skips_without_r3(built, tmp_path):
    import dagster as dg

    from pipelines.defs.publish.report import trustee_report
    from pipelines.defs.resources import WarehouseResource
    data = tmp_path / "data"
    shutil.copytree(built.serving, data / "warehouse" / "serving")
    res = dg.materialize([trustee_report], resources={"warehouse": WarehouseResource(data_dir=str(data))})
    assert res.success
    md = res.asset_materializations_for_node("trustee_report")[0].metadata
    assert md["leaving_year"].value == "2024-25" and md["skipped"].value is False
    assert (data / "reports" / "2024-25" / "trustee_report_2024-25.pdf").exists()
    nodata = tmp_path / "nodata"
    fixture_data.write_snapshot(nodata / "warehouse" / "serving", rounds=("R1",))
    res = dg.materialize([trustee_report], resources={"warehouse": WarehouseResource(data_dir=str(nodata))})
    assert res.success
    md = res.asset_materializations_for_node("trustee_report")[0].metadata
    assert md["skipped"].value is True and "no actual (R3)" in md["reason"].value
    assert not (nodata / "reports").exists()


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
    assert len(pages) == len(built.pages) >= 6


def test_text_is_never_a_formula(tmp_path):
    """A formula-like academy name reaches the workbook as plain text, never as a formula."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from openpyxl import load_workbook
    evil = "=HYPERLINK(\"http://x.example\",\"click\")"
    serving = fixture_data.write_snapshot(tmp_path / "serving", rounds=("R3",))
    rows = fixture_data.publish_like(fixture_data.destination_rows(7, ("R3",)))
    for r in rows:
        if r["academy_urn"] == "140001":
            r["academy_name"] = evil
    pq.write_table(pa.Table.from_pylist(rows), serving / "destination_measures_published.parquet")
    out = build_pack(fixture_data.YEAR, tmp_path / "out", serving, generated_at=FIXED)
    wb = load_workbook(str(out["xlsx"]))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value == evil]
    assert cells and all(c.data_type == "s" for c in cells)
