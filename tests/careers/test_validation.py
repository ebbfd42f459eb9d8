"""Bad FSQ and Compass files produce the right feedback (rule, row, column, value)."""
from __future__ import annotations

import io
from datetime import date

import pytest

from pipelines.lib.careers.compass import validate_compass
from pipelines.lib.careers.fsq import validate_fsq
from pipelines.lib.upn import make_upn

TODAY = date(2026, 11, 25)
U1, U2, U3 = make_upn(352, 4001, 13, 1), make_upn(352, 4001, 13, 2), make_upn(352, 4001, 13, 3)
BAD_UPN = ("B" if U1[0] != "B" else "C") + U1[1:]     # wrong check letter


def _long(rows, header="upn,year_group,survey_date,item_id,response") -> bytes:
    return (header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n").encode()


def _fsq(data, name="f.csv", year="2024-25", **kw):
    return validate_fsq(data, name, "140001", year, known_urns={"140001"}, today=TODAY, **kw)


def _rules(res):
    return {p.rule for p in res.problems}


def _one(res, rule):
    found = [p for p in res.problems if p.rule == rule]
    assert found, (rule, [p.line() for p in res.problems])
    return found[0]


GOOD = [(U1, 11, "2024-10-10", "CK01", "Agree"), (U1, 11, "2024-10-10", "CK02", "Disagree"),
        (U2, 11, "2024-10-10", "CK01", "Strongly agree"), (U2, 11, "2024-10-10", "CK02", ""),
        (U3, 11, "2024-10-10", "CK01", "4"), (U3, 11, "2024-10-10", "CK02", "Neither agree nor disagree")]


def test_good_long_file_loads_everything():
    res = _fsq(_long(GOOD))
    assert res.status == "accepted" and res.rows.height == 6
    r = {(x["upn"], x["item_id"]): x for x in res.rows.iter_rows(named=True)}
    assert r[(U1, "CK01")]["is_positive"] is True and r[(U1, "CK02")]["is_positive"] is False
    assert r[(U2, "CK02")]["response"] is None and r[(U2, "CK02")]["is_positive"] is None   # not answered
    assert r[(U3, "CK01")]["response"] == "Agree" and r[(U3, "CK01")]["response_score"] == 4  # code 4
    assert r[(U1, "CK01")]["construct"] == "career_knowledge"
    assert r[(U1, "CK01")]["survey_round"] == "autumn" and r[(U1, "CK01")]["source_row"] == 2


def test_unknown_item_reported_and_kept():
    res = _fsq(_long(GOOD + [(U1, 11, "2024-10-10", "XX42", "Agree"), (U2, 11, "2024-10-10", "XX42", "Agree")]))
    p = _one(res, "item_unknown")
    assert p.severity == "warning" and p.value == "XX42" and p.row == 8 and p.column == "item_id"
    assert "2 answers" in p.message and "config/fsq_constructs.yaml" in p.fix
    kept = res.rows.filter(res.rows["item_id"] == "XX42")
    assert kept.height == 2 and kept["construct"].is_null().all()


def test_bad_upn_excluded_with_row_and_value():
    res = _fsq(_long(GOOD + [(BAD_UPN, 11, "2024-10-10", "CK01", "Agree"), ("12345", 11, "2024-10-10", "CK01", "Agree")]))
    p = _one(res, "upn_check_letter")
    assert p.severity == "error" and p.row == 8 and p.column == "upn" and p.value == BAD_UPN
    assert "check letter" in p.message
    f = _one(res, "upn_format")
    assert f.row == 9 and f.value == "12345"
    assert res.rows.height == 6 and BAD_UPN not in res.rows["upn"].to_list()


def test_response_off_scale():
    res = _fsq(_long(GOOD + [(U1, 11, "2024-10-10", "CR01", "Maybe"), (U2, 11, "2024-10-10", "CR01", "7")]))
    ps = [p for p in res.problems if p.rule == "response_off_scale"]
    assert {(p.row, p.value) for p in ps} == {(8, "Maybe"), (9, "7")}
    assert all(p.column == "response" and "Strongly agree" in p.fix for p in ps)
    assert res.rows.height == 6


def test_year_group_date_and_duplicates():
    more = [(make_upn(352, 4001, 13, 10 + k), 11, "2024-10-10", "CK01", "Agree") for k in range(6)]
    res = _fsq(_long(GOOD + more + [(U1, 14, "2024-10-10", "CR01", "Agree"),          # year 14
                             (U2, 11, "2023-10-10", "CR01", "Agree"),          # previous academic year
                             (U3, 11, "not a date", "CR01", "Agree"),
                             (U1, 11, "2024-10-10", "CK01", "Agree")]))        # repeat of row 2
    assert _one(res, "year_group_range").row == 14
    assert _one(res, "survey_date_outside_year").row == 15
    assert _one(res, "survey_date_invalid").value == "not a date"
    d = _one(res, "duplicate_answer")
    assert d.row == 17 and d.value == "CK01"
    assert res.rows.height == 12


def test_missing_column_rejects_file():
    res = _fsq(_long([r[:3] + r[4:] for r in GOOD], header="upn,year_group,survey_date,response"))
    assert res.rejected and res.rows is None
    p = _one(res, "missing_column")
    assert p.severity == "file" and p.column == "item_id"
    res2 = _fsq(_long([r[1:] for r in GOOD], header="year_group,survey_date,item_id,response"))
    assert res2.rejected and _one(res2, "missing_column").column == "upn"


def test_unreadable_files_rejected():
    assert _one(_fsq(b"", "e.csv"), "file_empty").severity == "file"
    assert _one(_fsq(b"PK\x03\x04garbage", "x.xlsx"), "file_unreadable").severity == "file"
    assert _one(_fsq(b"%PDF-1.4 ...", "x.pdf"), "file_format").severity == "file"
    assert _one(_fsq(b"hello\nworld\n", "x.csv"), "no_header").severity == "file"


def test_too_many_invalid_rows_rejects():
    rows = GOOD + [(BAD_UPN, 11, "2024-10-10", f"CK0{i}", "Agree") for i in range(1, 7)]
    res = _fsq(_long(rows))
    assert res.rejected and "too_many_invalid" in _rules(res) and res.rows is None


def test_folder_checks():
    assert "unknown_academy" in _rules(validate_fsq(_long(GOOD), "f.csv", "999999", "2024-25", {"140001"}, today=TODAY))
    assert "bad_year_folder" in _rules(_fsq(_long(GOOD), year="2024"))


def test_wide_cp1252_and_xlsx_read_the_same():
    header = "UPN;Year;Form;Date completed;CK01;CK02;ZZ01"
    lines = [header, f"{U1};Year 11;11\u2013A;10/10/2024;Agree;Disagree;Agree",
             f"{U2};Y11;11\u2013B;10/10/2024;5;;Strongly agree"]
    res = _fsq(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    assert res.layout == "wide" and not res.rejected
    assert res.rows.height == 6 and set(res.rows["year_group"]) == {11}
    assert _one(res, "column_ignored").column == "Form"            # not on the agreement scale
    assert _one(res, "item_unknown").value == "ZZ01"               # on the scale: an unmapped item
    import xlsxwriter
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    wb.add_worksheet("Notes").write(0, 0, "read me")
    ws = wb.add_worksheet("Data")
    ws.write_row(0, 0, ["Export title"])
    ws.write_row(2, 0, ["Unique Pupil Number", "NC Year", "Survey Date", "CK01", "CK02"])
    ws.write_row(3, 0, [U1, 11, "2024-10-10", "Agree", "Disagree"])
    ws.write_row(4, 0, [BAD_UPN, 11, "2024-10-10", "Agree", "Agree"])
    for k in range(4):
        ws.write_row(5 + k, 0, [make_upn(352, 4001, 13, 20 + k), 11, "2024-10-10", "Agree", "Agree"])
    wb.close()
    x = _fsq(buf.getvalue(), "w.xlsx")
    assert x.rows.height == 10 and _one(x, "upn_check_letter").row == 5   # Excel row of the pupil


GOOD_COMPASS = [("140001", "2024-11-20", "2018", b, 100 if b < 6 else 50) for b in range(1, 9)]


def _compass(rows, header="urn,evaluation_date,framework_version,benchmark,percent_achieved"):
    data = (header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n").encode()
    return validate_compass(data, "c.csv", "140001", known_urns={"140001"}, today=TODAY)


def test_good_compass():
    res = _compass(GOOD_COMPASS)
    assert res.status == "accepted" and res.rows.height == 8
    assert res.rows["academic_year"][0] == "2024-25" and res.rows["term"][0] == "autumn"


def test_compass_benchmark_9_and_percent_140():
    res = _compass(GOOD_COMPASS + [("140001", "2024-11-20", "2018", 9, 50)]
                   + [("140001", "2025-03-20", "2018", b, 140 if b == 3 else 100) for b in range(1, 9)])
    b = _one(res, "benchmark_range")
    assert (b.row, b.column, b.value, b.severity) == (10, "benchmark", "9", "error")
    p = _one(res, "percent_range")
    assert (p.row, p.column, p.value) == (13, "percent_achieved", "140")
    assert res.rows.height == 15
    assert _one(res, "benchmarks_missing").severity == "warning"    # 2025-03-20 now lacks benchmark 3


def test_compass_framework_rules():
    early = _compass([("140001", "2025-03-20", "2025", b, 100) for b in range(1, 9)])
    assert early.rejected or all(p.rule == "framework_before_2025" for p in early.problems if p.severity == "error")
    assert _one(early, "framework_before_2025").column == "framework_version"
    late = _compass([("140001", "2025-11-20", "2018", b, 100) for b in range(1, 9)])
    assert not late.rejected and _one(late, "framework_2018_after_2025").severity == "warning"
    bad = _compass(GOOD_COMPASS + [("140001", "2024-12-01", "2019", 1, 50)])
    assert _one(bad, "framework_invalid").value == "2019"


def test_compass_missing_column_unreadable_and_wrong_academy():
    res = _compass([r[:4] for r in GOOD_COMPASS], header="urn,evaluation_date,framework_version,benchmark")
    assert res.rejected and _one(res, "missing_column").column == "percent_achieved"
    assert _one(validate_compass(b"\x00\x01\x02", "c.xlsx", "140001", today=TODAY), "file_unreadable")
    other = _compass([("140002",) + r[1:] for r in GOOD_COMPASS])
    assert other.rejected and _one(other, "urn_mismatch").severity == "file"


def test_feedback_is_plain_english():
    from pipelines.lib.careers.feedback import render_html, render_text
    res = _fsq(_long(GOOD + [(BAD_UPN, 11, "2024-10-10", "CK01", "Agree")]))
    text = render_text(res)
    assert "ACCEPTED with problems" in text and "row 8" in text and "How to fix" in text
    page = render_html(res)
    assert "<td>8</td>" in page and "What is wrong" in page and BAD_UPN in page
