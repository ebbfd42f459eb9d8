"""The CSV reader trusts polars' row count without a second parse only when that cannot differ."""
from __future__ import annotations

import io
import random

import polars as pl

from pipelines.lib.intake.read import _csv_records, quotes_paired, read_table


def _polars_rows(text: str) -> int:
    return pl.read_csv(io.BytesIO(text.encode()), has_header=False, schema={f"c{j}": pl.Utf8 for j in range(3)},
                       quote_char='"', truncate_ragged_lines=True, infer_schema=False, raise_if_empty=False).height


def test_paired_quotes_mean_both_parsers_count_the_same_rows():
    rng = random.Random(11)
    pieces = ["a", ",", '""', "\n", "\r\n", " ", '""""', "x y"]
    checked = 0
    for _ in range(3000):
        text = "h1,h2,h3\n" + "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 30)))
        if not quotes_paired(text):
            continue
        try:
            rows = _polars_rows(text)
        except pl.exceptions.PolarsError:
            continue    # the reader falls back to the csv module then
        checked += 1
        assert sum(1 for _ in _csv_records(text, ",")) == rows, repr(text)
    assert checked > 1500
    # one lone quote: not trusted (a quoted cell may span lines), so the csv module decides
    assert not quotes_paired('a,"b\nc",d\n') and not quotes_paired('a,"""\n')


def test_a_cell_spanning_lines_is_still_read_as_one_row():
    text = 'upn,name,notes\nA1,"two\nlines",x\nB2,"",y\n'
    t = read_table(text.encode(), "f.csv", {"upn": "upn", "name": "name", "notes": "notes"}, ["upn"])
    assert not t.rejected and t.height == 2
    assert t.body["c1"].to_list() == ["two\nlines", None] and t.body["_row"].to_list() == [2, 3]
