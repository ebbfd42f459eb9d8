"""Compass files' cells are cleaned together (one polars query per chunk, not one per file), and
each file still gets what read_table's own cleaning gave it: blank rows dropped and not counted,
a row with a value only in an unused column kept, a file left without rows rejected (no_rows, at
its header row), the rows of a file missing a column still counted. Checked in one chunk, in
many small chunks and alone, the results are the same."""
from __future__ import annotations

from datetime import date

from pipelines.lib.careers.compass import validate_compass, validate_compass_batch

TODAY = date(2026, 11, 25)
H = "urn,evaluation_date,framework_version,benchmark,percent_achieved"
GOOD = [f"140001,2025-11-20,2025,{b},{b * 10}" for b in range(1, 9)]


def _csv(lines, header=H) -> bytes:
    return (header + "\n" + "\n".join(lines) + "\n").encode()


FILES = {
    "good.csv": _csv(GOOD),
    "blank_only.csv": _csv([",,,,", " , ,\u00a0,,"]),
    "header_only.csv": _csv([]),
    "gaps.csv": _csv(GOOD[:3] + [",,,,", "  ,,,,"] + GOOD[3:]),
    "padded.csv": _csv([f"\u00a0140001 , 2025-11-20 ,2025\u00a0, {b} ,\u00a0{b}0% " for b in range(1, 9)]),
    "note_only_row.csv": _csv([g + "," for g in GOOD] + [",,,,,a note"], header=H + ",notes"),
    "missing_column.csv": _csv([g.rsplit(",", 1)[0] for g in GOOD] + [",,,"], header=H.rsplit(",", 1)[0]),
}


def _summary(r):
    rows = None if r.rows is None else r.rows.drop("file_sha256").to_dicts()
    return r.status, r.rows_total, r.rows_loaded, r.headers, [vars(p) for p in r.problems], rows


def test_cells_cleaned_together_as_each_file_alone():
    items = [(data, name, "140001") for name, data in FILES.items()]
    one = {r.file: r for r in validate_compass_batch(items, {"140001"}, TODAY)}
    small = {r.file: r for r in validate_compass_batch(items, {"140001"}, TODAY, chunk_rows=5)}
    for name, data in FILES.items():
        alone = validate_compass(data, name, "140001", {"140001"}, TODAY)
        assert _summary(one[name]) == _summary(alone) == _summary(small[name]), name

    for name in ("blank_only.csv", "header_only.csv"):
        r = one[name]
        assert (r.status, r.rows_total, r.headers) == ("rejected", 0, {})
        assert [(p.severity, p.rule, p.message, p.row) for p in r.problems] == [
            ("file", "no_rows", "the file has a header row but no data rows", 1)]
    gaps = one["gaps.csv"]
    assert (gaps.status, gaps.rows_total) == ("accepted", 8)
    assert sorted(one["gaps.csv"].rows["source_row"].to_list()) == [2, 3, 4, 7, 8, 9, 10, 11]
    padded = one["padded.csv"]
    assert padded.status == "accepted"
    assert set(padded.rows["academy_urn"]) == {"140001"}
    assert sorted(padded.rows["percent_achieved"].to_list()) == [10.0 * b for b in range(1, 9)]
    assert one["note_only_row.csv"].rows_total == 9          # the note keeps its row (and its errors)
    assert one["note_only_row.csv"].status == "accepted_with_problems"
    missing = one["missing_column.csv"]
    assert (missing.status, missing.rows_total) == ("rejected", 8)
    assert [p.rule for p in missing.problems] == ["missing_column"]
