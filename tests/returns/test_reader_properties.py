"""Property tests: the reader and validator never raise on arbitrary bytes or arbitrary text tables."""
from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.lib.returns import spec
from pipelines.lib.returns.reader import ROW_COL, read_return
from pipelines.lib.returns.validate import ValidationContext, validate_return

CTX = ValidationContext("100001", "2024-25", "R1")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAMES = st.sampled_from(["r.csv", "r.xlsx", "r.txt", "", "r.xls", "r.pdf", "RETURN.CSV"])


def _check(result, n_rows_hint=None):
    assert isinstance(result.problems, list)
    if result.table is not None:
        assert ROW_COL in result.table.columns
        assert not result.rejected
        rows = result.table[ROW_COL].to_list()
        assert rows == sorted(rows) and len(set(rows)) == len(rows)
        assert all(r >= 2 for r in rows)
    else:
        assert result.rejected
        assert all(p.message and p.fix for p in result.problems)


@SETTINGS
@given(data=st.binary(max_size=4000), name=NAMES)
def test_reader_never_raises_on_arbitrary_bytes(data, name):
    result = read_return(data, name)
    _check(result)
    v = validate_return(result, CTX, name)
    assert v.rows_accepted + v.rows_rejected == v.rows_total or v.rejected


@SETTINGS
@given(data=st.binary(max_size=2000))
def test_reader_never_raises_on_corrupt_zip(data):
    result = read_return(b"PK\x03\x04" + data, "r.xlsx")
    _check(result)


cell = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", " ", "Y", "N", "M", "F", "K", "E", "UND", "210", "120", "=1+1", "@x", "-3", "11",
                     "14", "Male", "SEN support", "Full-time education - further education", "B801200005001",
                     "A801200005001", "2024-10-01", "31/02/2025", "\ufeffupn", "4+"]),
)
header = st.lists(st.sampled_from([c.name for c in spec.COLUMNS] + ["Unique Pupil Number", "Gender", "Notes",
                                                                    "", "UPN", "Year", "sex"]),
                   min_size=0, max_size=18)


@SETTINGS
@given(head=header, body=st.lists(st.lists(cell, max_size=20), max_size=30),
       titles=st.lists(st.lists(cell, max_size=3), max_size=3),
       delim=st.sampled_from([",", ";", "\t"]), enc=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
def test_reader_and_validator_never_raise_on_arbitrary_text_tables(head, body, titles, delim, enc):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim)
    for t in titles:
        w.writerow(t)
    w.writerow(head)
    for r in body:
        w.writerow(r)
    data = buf.getvalue().encode(enc, errors="replace")
    result = read_return(data, "table.csv")
    _check(result)
    v = validate_return(result, CTX, "table.csv")
    assert v.status in ("accepted", "accepted_with_warnings", "rejected")
    assert v.frame.height == v.rows_accepted
    if not v.rejected:
        # nothing leading with a formula character ever reaches the typed rows
        for c in ("provider", "provider_id"):
            assert all(not str(x).startswith(("=", "+", "-", "@")) for x in v.frame[c].drop_nulls().to_list())
        assert set(v.frame["sex"].to_list()) <= {"M", "F"}
        assert set(v.frame["sen_provision"].to_list()) <= {"N", "K", "E"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(head=header, body=st.lists(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")),
                                                     max_size=15), max_size=16), max_size=10))
def test_reader_never_raises_on_arbitrary_xlsx_tables(head, body):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(head)
    for r in body:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    result = read_return(buf.getvalue(), "t.xlsx")
    _check(result)
    validate_return(result, CTX, "t.xlsx")
