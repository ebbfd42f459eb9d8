"""Incremental returns load: an unchanged file is never read again, a new file is checked alone
against the rows already loaded, and the result is exactly what a full replay of every file gives."""
from __future__ import annotations

import os

import duckdb

from pipelines.lib.returns import ingest
from tests.returns.helpers import corpus, query, write

C = corpus()
Y = C.YEAR
TABLES = {  # table -> columns that differ between two loads by nature (load times)
    "raw.destination_returns": [], "raw.return_submissions": ["processed_at"], "raw.return_problems": [],
    "raw.return_upn_conflicts": [], "raw.return_file_state": [],
}


def _land(data, urn, rnd, name, rows, mtime):
    f = write(data.returns / urn / Y / rnd / name, C.to_csv(rows))
    os.utime(f, (mtime, mtime))
    return f


def _load(data, rnd, monkeypatch=None, **kw):
    reads: list[str] = []
    if monkeypatch is not None:
        real = ingest.read_path_checked
        monkeypatch.setattr(ingest, "read_path_checked", lambda path, name, *rest, **kw: reads.append(path.name) or real(path, name, *rest, **kw))
    con = duckdb.connect(str(data.warehouse))
    try:
        res = ingest.load_partition(data, con, Y, rnd, **kw)
    finally:
        con.close()
    return res, reads


def _snapshot(data) -> dict:
    out = {}
    for table, skip in TABLES.items():
        cols = [r[0] for r in query(data, f"select column_name from information_schema.columns where "
                                          f"table_schema || '.' || table_name = '{table}' order by ordinal_position")]
        keep = ", ".join(c for c in cols if c not in skip)
        out[table] = query(data, f"select {keep} from {table} order by all")
    return out


def test_new_files_are_checked_alone_and_agree_with_a_full_replay(data, monkeypatch):
    a, b = C.ACADEMY, C.OTHER_ACADEMY
    shared = C.upn(0)                       # a pupil both academies return
    b_rows = C.pupils(8, estab=4002)
    b_rows[0] = dict(b_rows[0], upn=shared)
    _land(data, a, "R1", "a_r1.csv", C.pupils(8), 1_730_000_000)
    _land(data, b, "R1", "b_r1.csv", b_rows, 1_730_100_000)
    first, reads = _load(data, "R1", monkeypatch)
    assert sorted(reads) == ["a_r1.csv", "b_r1.csv"] and first.checked == 2
    assert query(data, "select academy_urn, upn from raw.return_upn_conflicts") == [(b, shared)]
    r2 = [dict(r, september_guarantee="") for r in C.pupils(8)]
    _land(data, a, "R2", "a_r2.csv", r2[:7], 1_730_200_000)      # one pupil vanished since R1
    _load(data, "R2")
    assert query(data, "select count(*) from raw.return_problems where rule = 'pupil_vanished'") == [(1,)]

    # nothing new: nothing read
    again, reads = _load(data, "R1", monkeypatch)
    assert again.unchanged and reads == []

    # B corrects its return (drops the shared pupil, adds one): only the new file is read
    b2 = [r for r in b_rows if r["upn"] != shared] + [dict(b_rows[1], upn=C.upn(20, 4002))]
    _land(data, b, "R1", "b_r1_v2.csv", b2, 1_730_300_000)
    # A sends an R1 that adds a pupil B already returned (C.upn(3, 4002)): the new file alone is read
    a2 = C.pupils(8) + [dict(C.pupils(1)[0], upn=C.upn(3, 4002))]
    _land(data, a, "R1", "a_r1_v2.csv", a2, 1_730_400_000)
    res, reads = _load(data, "R1", monkeypatch)
    assert sorted(reads) == ["a_r1_v2.csv", "b_r1_v2.csv"] and res.checked == 2
    assert query(data, "select academy_urn, upn from raw.return_upn_conflicts where file_status <> 'superseded'") \
        == [(a, C.upn(3, 4002))]
    assert query(data, "select count(*) from raw.destination_returns where round = 'R1'") == [(8 + 8,)]
    # A's R2 depends on A's R1: re-checked alone (its pupil_vanished warning is unchanged: same 8 pupils)
    res2, reads2 = _load(data, "R2", monkeypatch)
    assert not res2.unchanged and reads2 == [] and res2.checked == 0

    incremental = _snapshot(data)
    for rnd in ("R1", "R2"):
        _, reads = _load(data, rnd, monkeypatch, full=True)
        assert reads
    assert _snapshot(data) == incremental


def test_earlier_round_change_rechecks_only_that_academys_later_file(data, monkeypatch):
    a, b = C.ACADEMY, C.OTHER_ACADEMY
    _land(data, a, "R1", "a_r1.csv", C.pupils(8), 1_730_000_000)
    _land(data, b, "R1", "b_r1.csv", C.pupils(8, estab=4002), 1_730_000_100)
    _load(data, "R1")
    r2 = [dict(r, september_guarantee="") for r in C.pupils(8)]
    _land(data, a, "R2", "a_r2.csv", r2, 1_730_200_000)
    _land(data, b, "R2", "b_r2.csv", [dict(r, september_guarantee="") for r in C.pupils(8, estab=4002)],
          1_730_200_100)
    _load(data, "R2")
    assert query(data, "select count(*) from raw.return_problems where rule = 'pupil_vanished'") == [(0,)]
    # A's new R1 has a pupil A's R2 does not: A's R2 must now warn; B's R2 is not read
    _land(data, a, "R1", "a_r1_v2.csv", C.pupils(9), 1_730_300_000)
    _load(data, "R1")
    res, reads = _load(data, "R2", monkeypatch)
    assert reads == ["a_r2.csv"] and res.checked == 1
    assert query(data, "select academy_urn, value from raw.return_problems where rule = 'pupil_vanished'") \
        == [(a, C.upn(8))]
    incremental = _snapshot(data)
    _load(data, "R2", full=True)
    assert _snapshot(data) == incremental


def test_removed_file_replays_the_partition(data, monkeypatch):
    a, b = C.ACADEMY, C.OTHER_ACADEMY
    _land(data, a, "R1", "a_r1.csv", C.pupils(8), 1_730_000_000)
    b1 = _land(data, b, "R1", "b_r1.csv", C.pupils(8, estab=4002), 1_730_100_000)
    _land(data, b, "R1", "b_r1_v2.csv", C.pupils(7, estab=4002), 1_730_200_000)
    _load(data, "R1")
    current = data.returns / b / Y / "R1" / "b_r1_v2.csv"
    for f in (current, *current.parent.glob("b_r1_v2.csv.feedback.*")):
        f.unlink()                                # an admin removes B's newest file: B's older one is current again
    res, reads = _load(data, "R1", monkeypatch)
    assert sorted(reads) == ["a_r1.csv", "b_r1.csv"]
    assert query(data, "select source_file, count(*) from raw.destination_returns where academy_urn = ? group by 1",
                 [b]) == [(f"raw/returns/{b}/{Y}/R1/{b1.name}", 8)]


def test_return_corrected_in_place_is_checked_alone(data, monkeypatch):
    """The bench's case: an academy's file is overwritten with a corrected version (same name)."""
    a, b = C.ACADEMY, C.OTHER_ACADEMY
    fa = _land(data, a, "R1", "a_r1.csv", C.pupils(8), 1_730_000_000)
    _land(data, b, "R1", "b_r1.csv", C.pupils(8, estab=4002), 1_730_100_000)
    _load(data, "R1")
    fixed = C.pupils(8)
    fixed[0] = dict(fixed[0], sex="F" if fixed[0]["sex"] == "M" else "M")
    _land(data, a, "R1", "a_r1.csv", fixed, 1_730_200_000)
    res, reads = _load(data, "R1", monkeypatch)
    assert reads == ["a_r1.csv"] and res.checked == 1
    assert query(data, "select sex from raw.destination_returns where upn = ?", [C.upn(0)]) == [(fixed[0]["sex"],)]
    assert query(data, "select count(*) from raw.return_submissions") == [(2,)]
    incremental = _snapshot(data)
    _load(data, "R1", full=True)
    assert _snapshot(data) == incremental and fa.exists()
