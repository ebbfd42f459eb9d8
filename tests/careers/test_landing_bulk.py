"""Landing in one bulk transaction; feedback rewritten only when what it says changes."""
from __future__ import annotations

import os
from datetime import date

import duckdb

import pipelines.config as cfg
from pipelines.lib.careers.landing import land
from pipelines.lib.upn import make_upn
from tests.careers.conftest import write_register
from tests.careers.handmade import academies

TODAY = date(2026, 11, 25)
UPNS = [make_upn(352, 4001, 13, k) for k in range(4)]


def _csv(rows, header="upn,year_group,survey_date,item_id,response"):
    return (header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n").encode()


def test_many_files_one_run_and_quiet_feedback(tmp_path):
    write_register(tmp_path, academies())
    paths = cfg.paths(tmp_path)
    for k, urn in enumerate(("140001", "140002")):
        f = paths.fsq / urn / "2024-25" / "fsq.csv"
        f.parent.mkdir(parents=True)
        f.write_bytes(_csv([(u, 11, "2024-10-10", "CK01", "Agree") for u in UPNS[: 2 + k]]))
    bad = paths.fsq / "140001" / "2024-25" / "broken.csv"
    bad.write_bytes(_csv([(u, 11, "2024-10-10") for u in UPNS], header="upn,year_group,survey_date"))
    paths.warehouse_dir.mkdir(parents=True)
    con = duckdb.connect(str(paths.warehouse))
    res = land("fsq", paths, con, today=TODAY)
    assert sorted(r.status for r in res) == ["accepted", "accepted", "rejected"]
    assert con.execute("select count(*) from raw.fsq_responses").fetchone()[0] == 5
    assert con.execute("select count(*) from raw.careers_files").fetchone()[0] == 3
    fb = paths.feedback / "fsq" / "140001" / "2024-25" / "broken.csv.feedback.txt"
    q = paths.quarantine / "fsq" / "140001" / "2024-25" / "broken.csv"
    stamp = (fb.stat().st_mtime_ns, q.stat().st_mtime_ns)
    os.utime(fb, ns=(1, 1))
    os.utime(q, ns=(1, 1))
    # the rejected file is checked again on every run, but its feedback and quarantine copy say the
    # same, so they are not rewritten; accepted files are skipped (unchanged)
    again = land("fsq", paths, con, today=TODAY)
    assert [r.file for r in again] == ["raw/fsq/140001/2024-25/broken.csv"]
    assert fb.stat().st_mtime_ns == 1 and q.stat().st_mtime_ns == 1 and stamp[0] != 1
    assert con.execute("select count(*) from raw.fsq_responses").fetchone()[0] == 5
    # a changed file's feedback is rewritten and only its rows are replaced
    f = paths.fsq / "140002" / "2024-25" / "fsq.csv"
    f.write_bytes(_csv([(UPNS[0], 11, "2024-10-10", "CK01", "Maybe")] + [(u, 11, "2024-10-10", "CK02", "Agree")
                                                                         for u in UPNS]))
    land("fsq", paths, con, today=TODAY)
    assert con.execute("select count(*) from raw.fsq_responses").fetchone()[0] == 2 + 4
    text = (paths.feedback / "fsq" / "140002" / "2024-25" / "fsq.csv.feedback.txt").read_text()
    assert "response_off_scale" in text or "not on the agreement scale" in text
    con.close()


def _trust(tmp_path, n_files: int = 4):
    """Academies 140001/140002, FSQ files of 3 answers each (one file with an off-scale answer)."""
    write_register(tmp_path, academies())
    paths = cfg.paths(tmp_path)
    for k in range(n_files):
        f = paths.fsq / ("140001", "140002")[k % 2] / "2024-25" / f"fsq{k}.csv"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(_csv([(UPNS[k % 4], 11, "2024-10-10", item, "Maybe" if k == 1 and item == "CK02" else "Agree")
                            for item in ("CK01", "CK02", "CK03")]))
    paths.warehouse_dir.mkdir(parents=True, exist_ok=True)
    return paths


def _rows(con):
    return con.execute("select * exclude (file_modified_at) from raw.fsq_responses order by all").fetchall()


def _files(con):
    return con.execute("select * exclude (checked_at) from raw.careers_files order by all").fetchall()


def test_chunk_by_chunk_loads_the_same_rows_as_one_chunk(tmp_path, monkeypatch):
    from pipelines.lib.careers import fsq

    one = _trust(tmp_path / "one")
    con1 = duckdb.connect(str(one.warehouse))
    land("fsq", one, con1, today=TODAY)
    many = _trust(tmp_path / "many")
    con2 = duckdb.connect(str(many.warehouse))
    monkeypatch.setattr(fsq, "CHUNK_ROWS", 2)   # every file its own chunk, inserted one after another
    res = land("fsq", many, con2, today=TODAY)
    assert sorted(r.status for r in res) == ["accepted", "accepted", "accepted", "rejected"]   # 1 of 3 off the scale
    assert all(r.rows is None for r in res)   # handed to the warehouse chunk by chunk, not kept
    assert len(_rows(con2)) == 9 and _rows(con1) == _rows(con2)
    # the same files (names differ only by data directory), the same verdicts and counts
    assert [r[:2] + r[3:] for r in _files(con1)] == [r[:2] + r[3:] for r in _files(con2)]


def test_a_failed_chunk_insert_loses_nothing_loaded_before(tmp_path, monkeypatch):
    from pipelines.lib.careers import fsq, landing

    paths = _trust(tmp_path)
    con = duckdb.connect(str(paths.warehouse))
    land("fsq", paths, con, today=TODAY)
    before, files_before = _rows(con), _files(con)
    for k in range(4):   # every file corrected: each has one answer fewer
        f = paths.fsq / ("140001", "140002")[k % 2] / "2024-25" / f"fsq{k}.csv"
        f.write_bytes(_csv([(UPNS[k % 4], 11, "2024-10-10", "CK01", "Agree")]))
    monkeypatch.setattr(fsq, "CHUNK_ROWS", 1)
    real, calls = landing._Loader._insert, []

    def insert(self, incoming, *files):
        calls.append(incoming.height)
        if len(calls) == 3:   # the disk fills up while the third chunk is written
            raise OSError("No space left on device")
        return real(self, incoming, *files)

    monkeypatch.setattr(landing._Loader, "_insert", insert)
    try:
        land("fsq", paths, con, today=TODAY)
        raise AssertionError("the failed insert must fail the landing")
    except OSError:
        pass
    # the two chunks inserted before the failure are rolled back with it: the warehouse is as it was
    assert calls == [1, 1, 1] and _rows(con) == before and _files(con) == files_before
    monkeypatch.setattr(landing._Loader, "_insert", real)
    land("fsq", paths, con, today=TODAY)
    assert len(_rows(con)) == 4


def test_one_log_line_per_rejected_file_and_the_file_columns_of_every_row(tmp_path):
    import hashlib
    from datetime import datetime, timezone

    from pipelines.lib import runstate

    paths = _trust(tmp_path)
    runstate.scan(paths)          # the run's digest cache: the careers files are not hashed again
    con = duckdb.connect(str(paths.warehouse))
    lines: list[str] = []
    res = land("fsq", paths, con, today=TODAY, log=lines.append)
    assert lines == ["rejected: raw/fsq/140002/2024-25/fsq1.csv (0/3 rows)",
                     "fsq: 4 file(s) checked (3 accepted, 1 rejected); 9 rows loaded"]
    assert sorted(r.status for r in res) == ["accepted", "accepted", "accepted", "rejected"]
    # each row names its own file, that file's bytes' SHA-256 and its modification time
    for source, sha, modified, n in con.execute(
            "select source_file, file_sha256, file_modified_at, count(*) from raw.fsq_responses group by all").fetchall():
        f = paths.root / source
        assert sha == hashlib.sha256(f.read_bytes()).hexdigest() and n == 3
        assert modified == datetime.fromtimestamp(f.stat().st_mtime, timezone.utc).replace(tzinfo=None)
    for source, sha in con.execute("select source_file, file_sha256 from raw.careers_files").fetchall():
        assert sha == hashlib.sha256((paths.root / source).read_bytes()).hexdigest()
    # a file changed after the scan is hashed again, not taken from the cache
    f = paths.fsq / "140001" / "2024-25" / "fsq0.csv"
    f.write_bytes(_csv([(UPNS[0], 11, "2024-10-10", "CK01", "Disagree")]))
    land("fsq", paths, con, today=TODAY)
    assert con.execute("select distinct file_sha256 from raw.fsq_responses where source_file = ?",
                       [str(f.relative_to(paths.root))]).fetchall() == [(hashlib.sha256(f.read_bytes()).hexdigest(),)]
    con.close()
