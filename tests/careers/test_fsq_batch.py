"""Checking many FSQ files in one frame gives each file exactly the feedback and rows it gets alone.

The batch path parses and checks the answers of all files together (one vectorised pass per rule);
per-file results come from group-bys over `_file`. Here every file carries a planted defect of its
own, next to clean files, and the batch (one chunk, and many small chunks) must agree with each file
validated on its own, problem for problem (rule, row, column, value, order) and row for row.
"""
from __future__ import annotations

import io
from datetime import date

import polars as pl

from pipelines.lib.careers.fsq import validate_fsq, validate_fsq_batch
from pipelines.lib.upn import LETTERS, check_letter_problems, make_upn, upn_problem

TODAY = date(2026, 11, 25)
HEADER = "upn,year_group,survey_date,item_id,response"
UPNS = [make_upn(352, 4001, 13, s) for s in range(1, 400)]
BAD_LETTER = ("B" if UPNS[0][0] != "B" else "C") + UPNS[0][1:]
TEMP = UPNS[1][:12] + "A"


def _long(rows, header=HEADER) -> bytes:
    return (header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n").encode()


def _clean(n: int, first: int = 0, day: str = "2024-10-10") -> list[tuple]:
    return [(UPNS[first + i], 11, day, item, ans) for i in range(n)
            for item, ans in (("CK01", "Agree"), ("CK02", "Disagree"), ("CK03", ""))]


def _wide_xlsx(rows: list[list]) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf)
    ws = wb.add_worksheet("FSQ")
    for i, r in enumerate(rows):
        ws.write_row(i, 0, r)
    wb.close()
    return buf.getvalue()


def _files() -> list[tuple[bytes, str, str, str]]:
    files = [
        (_long(_clean(5)), "clean_a.csv", "2024-25"),
        # a wrong check letter, a temporary UPN, a missing UPN, a malformed one
        (_long(_clean(3) + [(BAD_LETTER, 11, "2024-10-10", "CK01", "Agree"),
                            (TEMP, 11, "2024-10-10", "CK01", "Agree"), ("", 11, "2024-10-10", "CK01", "Agree"),
                            ("12345", 11, "2024-10-10", "CK02", "Agree")]), "upns.csv", "2024-25"),
        # outside the folder's year, in the future, a repeated answer, two year groups
        (_long(_clean(3, 10) + [(UPNS[20], 11, "2023-10-10", "CK01", "Agree"),
                                (UPNS[10], 11, "2024-10-10", "CK01", "Agree"),
                                (UPNS[11], 12, "2024-10-10", "CK04", "Agree")]), "dates.csv", "2024-25"),
        # the same defect but in another academic year folder: the year in the message differs
        (_long(_clean(2, 30, "2025-10-10") + [(UPNS[33], 11, "2024-10-10", "CK01", "Agree")]),
         "dates_other_year.csv", "2025-26"),
        # in the folder's year but after today
        (_long(_clean(2, 35, "2026-10-10") + [(UPNS[38], 11, "2027-01-10", "CK01", "Agree")]),
         "future.csv", "2026-27"),
        # unknown items (two of them), an off-scale answer, an invalid item id, a bad year group
        (_long(_clean(4, 40) + [(UPNS[40], 11, "2024-10-10", "XX42", "Agree"),
                                (UPNS[41], 11, "2024-10-10", "XX42", "Agree"),
                                (UPNS[42], 11, "2024-10-10", "ZZ9", "Agree"),
                                (UPNS[43], 11, "2024-10-10", "CK04", "Maybe"),
                                (UPNS[43], 11, "2024-10-10", "bad item!", "Agree"),
                                (UPNS[44], 14, "2024-10-10", "CK01", "Agree"),
                                (UPNS[45], "abc", "2024-10-10", "CK01", "Agree")]), "items.csv", "2024-25"),
        # more than 200 rows with the same problem: capped, with a summary line
        (_long([(UPNS[100 + i], 11, "2024-10-10", "CK01", "Sometimes") for i in range(230)]
               + _clean(240, 100)), "capped.csv", "2024-25"),
        # too many invalid rows: rejected as a whole
        (_long([(UPNS[60 + i], 11, "2024-10-10", "CK01", "nope") for i in range(8)] + _clean(1, 70)),
         "rejected.csv", "2024-25"),
        # wide XLSX export: question columns, an ignored column, an unmapped question on the scale
        (_wide_xlsx([["UPN", "Year", "Date completed", "CK01", "CK02", "Notes", "QX7"],
                     [UPNS[80], 11, "2024-10-10", "Agree", "Maybe", "hello", "Agree"],
                     [BAD_LETTER, 11, "2024-10-10", 4, "", "x", "Disagree"],
                     [UPNS[81], 11, "2030-01-01", "Strongly agree", "Agree", "y", "Agree"]]), "wide.xlsx", "2024-25"),
        (_long(_clean(6, 200)), "clean_b.csv", "2024-25"),
        # a file-level problem (no rows): never reaches the batch frame
        (b"upn,year_group,survey_date,item_id,response\n", "empty.csv", "2024-25"),
    ]
    return [(d, n, "140001", y) for d, n, y in files]


def _as_dicts(res):
    return [p.as_dict() for p in res.problems]


def test_batch_gives_each_file_what_it_gets_alone():
    files = _files()
    alone = [validate_fsq(d, n, u, y, known_urns={"140001"}, today=TODAY) for d, n, u, y in files]
    by_name = {r.file: r for r in alone}
    # the planted defects are found (so agreement below is about real feedback)
    rules = {name: {p.rule for p in r.problems} for name, r in by_name.items()}
    assert rules["clean_a.csv"] == set() and rules["clean_b.csv"] == set()
    assert {"upn_check_letter", "upn_temporary", "upn_missing", "upn_format"} <= rules["upns.csv"]
    assert {"survey_date_outside_year", "duplicate_answer", "year_group_conflict"} <= rules["dates.csv"]
    assert rules["future.csv"] == {"survey_date_future"}
    assert {"item_unknown", "response_off_scale", "item_id_invalid", "year_group_range",
            "year_group_invalid"} <= rules["items.csv"]
    assert len([p for p in by_name["items.csv"].problems if p.rule == "item_unknown"]) == 3   # XX42, ZZ9, "bad item!"
    assert "2025-26" in next(p.message for p in by_name["dates_other_year.csv"].problems
                             if p.rule == "survey_date_outside_year")
    capped = [p for p in by_name["capped.csv"].problems if p.rule == "response_off_scale"]
    assert len(capped) == 201 and sum("(and 30 more rows" in p.message for p in capped) == 1
    assert by_name["rejected.csv"].rejected and by_name["rejected.csv"].rows is None
    assert by_name["wide.xlsx"].layout == "wide"
    assert {"column_ignored", "item_unknown", "response_off_scale", "upn_check_letter",
            "survey_date_outside_year"} <= rules["wide.xlsx"]
    assert by_name["empty.csv"].rejected
    assert by_name["clean_a.csv"].rows.height == 15 and by_name["clean_a.csv"].rows_loaded == 15

    for chunk_rows in (None, 40):   # one frame for all files; many small chunks
        batch = validate_fsq_batch(files, {"140001"}, today=TODAY, chunk_rows=chunk_rows)
        assert [r.file for r in batch] == [n for _, n, _, _ in files]
        for a, b in zip(alone, batch):
            assert _as_dicts(b) == _as_dicts(a), a.file
            assert (b.status, b.rows_total, b.rows_loaded, b.layout, b.sha256) == (
                a.status, a.rows_total, a.rows_loaded, a.layout, a.sha256), a.file
            if a.rows is None:
                assert b.rows is None
            else:
                assert b.rows.schema == a.rows.schema
                assert b.rows.equals(a.rows), a.file
                assert b.rows["source_file"].unique().to_list() == [a.file]


def test_a_defect_in_one_file_never_excludes_rows_of_another():
    files = _files()
    batch = {r.file: r for r in validate_fsq_batch(files, {"140001"}, today=TODAY)}
    clean = batch["clean_b.csv"]
    assert clean.status == "accepted" and clean.rows.height == 18
    # the same UPN + date + item in two files is not a repeated answer (that rule is per file)
    twice = [(_long(_clean(2)), "one.csv", "140001", "2024-25"), (_long(_clean(2)), "two.csv", "140001", "2024-25")]
    res = validate_fsq_batch(twice, {"140001"}, today=TODAY)
    assert [r.status for r in res] == ["accepted", "accepted"]
    assert pl.concat([r.rows for r in res]).height == 12


def test_column_wise_check_letters_equal_upn_problem():
    import random

    rng = random.Random(7)
    upns = set()
    for _ in range(3000):
        good = make_upn(rng.randrange(1000), rng.randrange(10000), rng.randrange(100), rng.randrange(1000))
        upns.add(good)
        upns.add(rng.choice(LETTERS) + good[1:])                    # often a wrong check letter
        upns.add(good[:12] + rng.choice(LETTERS))                   # temporary UPN ending: a letter
        upns.add(rng.choice(LETTERS) + good[1:12] + rng.choice(LETTERS))
    upns = sorted(upns)
    got = check_letter_problems(pl.Series(upns)).to_list()
    want = [upn_problem(u) for u in upns]
    assert got == want
    assert sum(w is None for w in want) > 3000 and sum(w is not None for w in want) > 3000
