"""raw.fsq_answers keyed by file_id + raw.fsq_files, raw.fsq_responses their view: a changed file
replaces exactly its own answers, and a warehouse with the earlier one-table layout is upgraded
on its first FSQ ingest without losing or changing a row."""
from __future__ import annotations

import duckdb
import pytest

from pipelines.lib.careers import landing
from pipelines.lib.careers.landing import land
from tests.careers.test_fsq_dedup import OLD_FSQ_DDL
from tests.careers.test_landing_bulk import TODAY, UPNS, _csv, _trust

ALL = "select * from raw.fsq_responses"


def _same(con, a: str, b: str) -> bool:
    return all(con.execute(f"select count(*) from ({x} except all {y})").fetchone()[0] == 0
               for x, y in ((a, b), (b, a)))


def _table_type(con, name: str) -> str | None:
    row = con.execute("select table_type from information_schema.tables where table_schema = 'raw' "
                      "and table_name = ?", [name]).fetchone()
    return row and row[0]


def _rewrite_and_land(con, paths, changed: str, answer: tuple) -> list[tuple]:
    """Rewrite one landed file with a single answer and land again: the other files' rows must be
    the rows in `before`; returns the changed file's (item_id, response, source_row)."""
    (paths.root / changed).write_bytes(_csv([answer]))
    land("fsq", paths, con, today=TODAY)
    others = f"select * from {{}} where source_file <> '{changed}'"
    assert _same(con, others.format("before"), others.format("raw.fsq_responses"))
    return con.execute("select item_id, response, source_row from raw.fsq_responses where source_file = ?",
                       [changed]).fetchall()


def test_a_changed_file_replaces_exactly_its_answers_and_keeps_its_key(tmp_path):
    paths = _trust(tmp_path)
    con = duckdb.connect(str(paths.warehouse))
    land("fsq", paths, con, today=TODAY)
    assert _table_type(con, "fsq_responses") == "VIEW"
    files = dict(con.execute("select source_file, file_id from raw.fsq_files").fetchall())
    assert sorted(files.values()) == [1, 2, 3]   # fsq1.csv is rejected (an off-scale answer in 3)
    con.execute(f"create table before as {ALL}")
    # the other files' answers are the same rows; the changed file has only its new answer
    assert _rewrite_and_land(con, paths, "raw/fsq/140002/2024-25/fsq3.csv",
                             (UPNS[1], 11, "2024-10-10", "CK04", "Disagree")) == [("CK04", "Disagree", 2)]
    # one row per file, the changed file under the key it had
    assert dict(con.execute("select source_file, file_id from raw.fsq_files").fetchall()) == files
    assert con.execute("select count(*) from raw.fsq_answers where file_id not in "
                       "(select file_id from raw.fsq_files)").fetchone()[0] == 0
    # a new file gets a new key
    new = paths.fsq / "140001" / "2024-25" / "fsq9.csv"
    new.write_bytes(_csv([(UPNS[2], 11, "2024-10-11", "CK01", "Agree")]))
    land("fsq", paths, con, today=TODAY)
    assert con.execute("select file_id from raw.fsq_files where source_file = ?",
                       [str(new.relative_to(paths.root))]).fetchone() == (4,)
    con.close()


def _to_old_layout(con) -> None:
    """Turn the warehouse back into the one-table layout of earlier versions (same rows)."""
    con.execute(f"create temp table old_rows as {ALL}")
    for stmt in ("drop view raw.fsq_responses", "drop table raw.fsq_answers", "drop table raw.fsq_files",
                 OLD_FSQ_DDL, "insert into raw.fsq_responses select * from old_rows"):
        con.execute(stmt)


def test_a_warehouse_of_the_one_table_layout_is_upgraded_and_keeps_every_row(tmp_path):
    paths = _trust(tmp_path)
    con = duckdb.connect(str(paths.warehouse))
    land("fsq", paths, con, today=TODAY)
    _to_old_layout(con)
    assert _table_type(con, "fsq_responses") == "BASE TABLE"
    con.execute(f"create table before as {ALL}")
    assert con.execute("select count(*) from before").fetchone()[0] == 9
    # nothing changed in the landing zone: no accepted file is read again (only the rejected one is
    # checked again, as on every run); the rows only move
    assert [r.file for r in land("fsq", paths, con, today=TODAY)] == ["raw/fsq/140002/2024-25/fsq1.csv"]
    assert _table_type(con, "fsq_responses") == "VIEW"
    assert _same(con, "select * from before", ALL)
    assert [c[0] for c in con.execute("describe raw.fsq_responses").fetchall()] == \
        [c[0] for c in con.execute("describe before").fetchall()]
    assert con.execute("select count(*), count(distinct source_file) from raw.fsq_files").fetchone() == (3, 3)
    # then a changed file replaces only its rows, as in a warehouse built with the new layout
    assert _rewrite_and_land(con, paths, "raw/fsq/140001/2024-25/fsq0.csv",
                             (UPNS[0], 11, "2024-10-10", "CK01", "Disagree")) == [("CK01", "Disagree", 2)]
    # upgrading again is a no-op
    assert landing.upgrade_fsq_table(con) is False
    con.close()


def test_a_failed_upgrade_leaves_the_old_table_as_it_was(tmp_path, monkeypatch):
    paths = _trust(tmp_path)
    con = duckdb.connect(str(paths.warehouse))
    land("fsq", paths, con, today=TODAY)
    _to_old_layout(con)
    con.execute(f"create table before as {ALL}")
    monkeypatch.setattr(landing, "FSQ_VIEW", "create view raw.fsq_responses as select no_such_column")
    with pytest.raises(duckdb.Error):
        landing.upgrade_fsq_table(con)
    assert _table_type(con, "fsq_responses") == "BASE TABLE"
    assert _table_type(con, "fsq_answers") is None and _table_type(con, "fsq_files") is None
    assert _same(con, "select * from before", ALL)
    con.close()
