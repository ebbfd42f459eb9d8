"""The header row is the row among the first 30 with most known column names; rows that cannot beat
the best so far (no more cells than its score) are not scored, and the choice is the same as
scoring every row."""
from __future__ import annotations

import random

from pipelines.lib.intake.cells import clean
from pipelines.lib.intake.read import HEADER_SCAN_ROWS, _csv_records, read_table, sniff_delimiter

ALIASES = {"upn": "upn", "year": "year_group", "sex": "sex", "code": "destination_code", "pupil": "upn"}
EXTRA = {"ck01", "ck02"}


def _score(row: list[str]) -> float:
    """Every row scored, as the reader did before it skipped rows (the reference)."""
    keys = [c.strip().lower() for c in row if clean(c) is not None]
    return len({ALIASES[k] for k in keys if k in ALIASES}) + 0.5 * sum(1 for k in keys if k not in ALIASES and k in EXTRA)


def _reference_header_row(text: str) -> int:
    best = None
    for i, row in enumerate(_csv_records(text, sniff_delimiter(text))):
        if i >= HEADER_SCAN_ROWS:
            break
        s = _score(row)
        if s > 0 and (best is None or s > best[0]):
            best = (s, i)
    return best[1] + 1


def _read(text: str):
    return read_table(text.encode(), "f.csv", ALIASES, ["upn"], is_extra_key=EXTRA.__contains__,
                      norm=lambda c: str(c).strip().lower())


def test_a_later_wider_row_with_more_known_names_is_still_chosen():
    text = "upn,year\nx,y\nupn,year,sex,code\nA1,11,F,X\n"
    t = _read(text)
    assert t.header_row == 3 and t.columns == {"upn": 0, "year_group": 1, "sex": 2, "destination_code": 3}


def test_an_equal_score_later_keeps_the_first_header():
    text = "upn,year,sex\n1,2,3\nupn,year,sex\n4,5,6\n"
    assert _read(text).header_row == 1


def test_random_grids_choose_the_same_row_as_scoring_every_row():
    rng = random.Random(5)
    cells = ["upn", "year", "sex", "code", "pupil", "CK01", "ck02", "", " ", "x", "11", "F", "Upn "]
    for _ in range(400):
        rows = [[rng.choice(cells) for _ in range(rng.randrange(1, 7))] for _ in range(rng.randrange(1, 35))]
        if not any(_score(r) > 0 for r in rows[:HEADER_SCAN_ROWS]):
            continue
        text = "\n".join(",".join(r) for r in rows) + "\n"
        t = _read(text)
        if t.rejected:
            continue
        assert t.header_row == _reference_header_row(text), text


def test_the_first_lines_are_those_of_splitting_the_whole_text():
    """The delimiter is sniffed from the first lines, found in a prefix of the text: the same lines
    as splitting it all, whatever the line breaks (CRLF cut at the prefix's end, lone CR, U+2028...)
    and line lengths."""
    from pipelines.lib.intake.read import _first_lines

    rng = random.Random(41)
    breaks = ["\n", "\r\n", "\r", "\u2028", "\x0b", "\x85"]
    for _ in range(300):
        lines = ["".join(rng.choice("ab,;\t|\" ") for _ in range(rng.choice([0, 3, 200, 2000, 9000])))
                 for _ in range(rng.randint(0, 80))]
        text = "".join(ln + rng.choice(breaks) for ln in lines)
        for n in (1, 35, 60):
            assert _first_lines(text, n) == text.splitlines()[:n]
    text = "x" * 8191 + "\r\n" + "y\n" * 40          # a CRLF cut in two by the first prefix
    assert _first_lines(text, 35) == text.splitlines()[:35]
