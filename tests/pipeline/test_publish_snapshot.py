"""The serving snapshot switches as a whole: versioned folders behind one symlink."""
import json
import os

import duckdb
import polars as pl

from pipelines.lib.publish import collect_garbage, publish_snapshot, read_manifest, recorded_hashes, resolve_snapshot


def _as_built(con, table: str) -> None:
    """Record a content hash on `table` as a dbt build does (macros/content_hash.sql: rows, a digest
    of the rows, columns); here the digest is of the sorted rows' text, which is all a publish compares."""
    import hashlib

    from pipelines.lib.publish import HASH_COMMENT, _columns
    rows = con.execute(f"select * from marts.{table} order by all").fetchall()
    digest = int(hashlib.sha256(repr(rows).encode()).hexdigest()[:16], 16)
    con.execute(f"comment on table marts.{table} is "
                f"'{HASH_COMMENT}{len(rows)}:{digest}:{_columns(con, 'marts')[table]}'")


def _warehouse(tmp_path, a=5, b=3):
    wh = tmp_path / "w.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("create schema if not exists marts")
    con.execute(f"create or replace table marts.a as select range as x, range * 0.5 as y from range({a})")
    con.execute(f"create or replace table marts.b as select range as z from range({b})")
    _as_built(con, "a")
    _as_built(con, "b")
    con.close()
    return wh


def test_versions_switch_whole_and_unchanged_marts_are_not_rewritten(tmp_path):
    serving = tmp_path / "serving"
    wh = _warehouse(tmp_path)
    first = publish_snapshot(wh, serving, ["a", "b", "not_built"])
    assert serving.is_symlink() and resolve_snapshot(serving) == first.path
    assert first.rows == {"a": 5, "b": 3} and sorted(first.changed) == ["a", "b"]
    man = read_manifest(serving)
    assert man["version"] == first.version and man["tables"] == {"a": 5, "b": 3}
    assert pl.read_parquet(serving / "a.parquet")["x"].to_list() == [0, 1, 2, 3, 4]

    again = publish_snapshot(wh, serving, ["a", "b"])
    assert not again.new_version and again.path == first.path and again.changed == []

    _warehouse(tmp_path, a=7, b=3)
    second = publish_snapshot(wh, serving, ["a", "b"])
    assert second.new_version and second.changed == ["a"]
    assert resolve_snapshot(serving) == second.path != first.path
    assert pl.read_parquet(serving / "a.parquet").height == 7
    # the unchanged mart is the same file (hard link), the old version is still readable
    assert os.stat(second.path / "b.parquet").st_ino == os.stat(first.path / "b.parquet").st_ino
    assert pl.read_parquet(first.path / "a.parquet").height == 5


def test_killed_publish_leaves_old_snapshot_and_garbage_is_collected(tmp_path):
    serving = tmp_path / "serving"
    wh = _warehouse(tmp_path)
    first = publish_snapshot(wh, serving, ["a", "b"])
    partial = tmp_path / ".serving.20990101T000000-1.partial"     # what a kill mid-publish leaves
    partial.mkdir()
    (partial / "a.parquet").write_text("half written")
    assert resolve_snapshot(serving) == first.path
    for i in range(3):
        _warehouse(tmp_path, a=10 + i)
        publish_snapshot(wh, serving, ["a", "b"])
    removed = collect_garbage(serving, keep=2, grace_seconds=0)
    assert partial in removed and not partial.exists()
    versions = sorted(p.name for p in tmp_path.glob("serving.*"))
    assert len(versions) == 2 and resolve_snapshot(serving).name in versions
    assert pl.read_parquet(serving / "a.parquet").height == 12


def test_a_pre_versioning_serving_folder_becomes_a_link(tmp_path):
    serving = tmp_path / "serving"
    serving.mkdir()
    (serving / "a.parquet").write_text("old, unreadable")
    (serving / "_manifest.json").write_text(json.dumps({"tables": {"a": 1}}))
    snap = publish_snapshot(_warehouse(tmp_path), serving, ["a", "b"])
    assert serving.is_symlink() and snap.new_version
    assert pl.read_parquet(serving / "a.parquet").height == 5
    assert list(tmp_path.glob("serving.legacy-*")), "the old folder is kept until garbage collection"


def test_publish_killed_with_sigkill_midway_leaves_a_whole_snapshot(tmp_path):
    """A real kill -9 while a publish writes its files: readers still get one whole version, and
    the next publish completes and clears what the killed one left."""
    import signal
    import subprocess
    import sys
    import time

    serving = tmp_path / "serving"
    wh = tmp_path / "w.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("create schema marts")
    for i in range(40):
        con.execute(f"create table marts.m{i} as select range as x, {i} as v from range(20000)")
    con.close()
    names = [f"m{i}" for i in range(40)]
    first = publish_snapshot(wh, serving, names)
    con = duckdb.connect(str(wh))
    for i in range(40):
        con.execute(f"create or replace table marts.m{i} as select range as x, {i + 100} as v from range(20001)")
    con.close()
    code = ("import sys; from pathlib import Path; from pipelines.lib.publish import publish_snapshot; "
            f"publish_snapshot(Path({str(wh)!r}), Path({str(serving)!r}), {names!r})")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=repo)
    deadline = time.monotonic() + 120
    partial = []
    while time.monotonic() < deadline and proc.poll() is None:
        partial = [p for p in tmp_path.glob(".serving.*.partial") if len(list(p.glob("*.parquet"))) >= 3]
        if partial:
            break
        time.sleep(0.005)
    assert partial and proc.poll() is None, "the publish finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # readers: the old version, whole
    assert resolve_snapshot(serving) == first.path
    man = read_manifest(serving)
    assert man["version"] == first.version and len(man["tables"]) == 40
    assert all(pl.read_parquet(serving / f"m{i}.parquet")["v"][0] == i for i in range(40))
    again = publish_snapshot(wh, serving, names)
    assert again.new_version and len(again.changed) == 40
    collect_garbage(serving, grace_seconds=0)
    assert not list(tmp_path.glob(".serving.*"))
    assert all(pl.read_parquet(serving / f"m{i}.parquet")["v"][0] == i + 100 for i in range(40))


def _many_marts(tmp_path, n=12, bump=0):
    wh = tmp_path / "many.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("create schema if not exists marts")
    for i in range(n):
        rows = 50 + i + (bump if i % 3 == 0 else 0)
        con.execute(f"create or replace table marts.m{i} as select range as x, range * 0.25 as y, "
                    f"'r' || range as s, {i} as v from range({rows})")
        _as_built(con, f"m{i}")
    con.close()
    return wh, [f"m{i}" for i in range(n)]


def test_marts_published_on_several_cursors_equal_one_at_a_time(tmp_path, monkeypatch):
    """The pool of cursors changes how fast, not what: the same hashes, rows, changed marts (in the
    marts' order) and files as one cursor, first publish and after a change alike."""
    out = {}
    for workers in ("1", "4"):
        monkeypatch.setenv("DESTINATIONS_PUBLISH_WORKERS", workers)
        root = tmp_path / workers
        root.mkdir()
        wh, names = _many_marts(root)
        first = publish_snapshot(wh, root / "serving", names)
        wh, _ = _many_marts(root, bump=7)
        second = publish_snapshot(wh, root / "serving", names)
        man = read_manifest(root / "serving")
        files = {n: pl.read_parquet(root / "serving" / f"{n}.parquet").sort("x").to_dicts() for n in names}
        out[workers] = (first.changed, second.changed, man["hashes"], man["tables"], files)
    assert out["1"] == out["4"]
    assert out["4"][1] == ["m0", "m3", "m6", "m9"]


def test_a_mart_that_fails_to_publish_leaves_the_old_snapshot(tmp_path, monkeypatch):
    monkeypatch.setenv("DESTINATIONS_PUBLISH_WORKERS", "4")
    wh, names = _many_marts(tmp_path)
    serving = tmp_path / "serving"
    first = publish_snapshot(wh, serving, names)
    con = duckdb.connect(str(wh))
    con.execute("create or replace table marts.m5 as select 'not a number' as x")
    con.execute("create view marts.broken as select cast(x as integer) as x from marts.m5")   # fails when read
    con.close()
    try:
        publish_snapshot(wh, serving, [*names, "broken"])
        raise AssertionError("the publish should have failed")
    except duckdb.Error:
        pass
    assert resolve_snapshot(serving) == first.path and read_manifest(serving)["version"] == first.version
    assert not list(tmp_path.glob(".serving.*.partial"))


def test_a_recorded_hash_is_used_and_a_mart_without_one_it_matches_is_always_written(tmp_path):
    """The switch takes each mart's hash from its build (it never hashes a mart). A recorded hash
    whose rows or columns no longer match the table, or none at all, is not trusted: the mart is
    written, under a hash of its own for that version, so it is never taken for unchanged."""
    wh = _warehouse(tmp_path)
    con = duckdb.connect(str(wh), read_only=True)
    recorded = recorded_hashes(con, "marts")
    con.close()
    serving = tmp_path / "serving"
    first = publish_snapshot(wh, serving, ["a", "b"])
    assert read_manifest(serving)["hashes"] == recorded and sorted(first.changed) == ["a", "b"]
    # a changed in place (7 rows) while its comment still says 5; b: the same rows, another column type
    con = duckdb.connect(str(wh))
    con.execute("insert into marts.a select range, range * 0.5 from range(5, 7)")
    con.execute("alter table marts.b alter z type integer")
    con.close()
    second = publish_snapshot(wh, serving, ["a", "b"])
    assert sorted(second.changed) == ["a", "b"] and second.rows == {"a": 7, "b": 3}
    assert pl.read_parquet(serving / "a.parquet")["x"].to_list() == list(range(7))
    assert read_manifest(serving)["hashes"] == {t: f"{n}:unrecorded:{second.version}" for t, n in second.rows.items()}
    # nothing changed since, but nothing vouches for either: both written again, a new version
    third = publish_snapshot(wh, serving, ["a", "b"])
    assert third.new_version and sorted(third.changed) == ["a", "b"] and len({first.path, second.path, third.path}) == 3
    # b built again (a hash recorded): linked from then on
    con = duckdb.connect(str(wh))
    _as_built(con, "b")
    con.close()
    publish_snapshot(wh, serving, ["a", "b"])
    fifth = publish_snapshot(wh, serving, ["a", "b"])
    assert fifth.changed == ["a"]


def test_a_mart_dbt_rebuilt_is_republished_when_it_changed_and_linked_when_not(tmp_path, monkeypatch):
    """Through dbt: every build of a mart records the hash of what it committed (rows, a sum of row
    hashes, columns), in place (by_leaving_year) or as a new table. A corrected return
    changes destination_measures and neet_not_known in place: both are written to the new
    snapshot with their new rows; the same rebuild again changes nothing and links every file."""
    from tests.marts.helpers import academy, load_benchmarks, load_raw, pupil_row, run_dbt

    wh = tmp_path / "warehouse" / "warehouse.duckdb"
    codes = ["210", "230", "310", "540", "230", "210", "220"]

    def pupils(corrected: bool) -> list[dict]:
        rows = [pupil_row(academy_urn=urn, leaving_year=year, upn=f"U{urn}{year[:4]}{i:04d}", source_row=i + 2,
                          destination_code=codes[i % len(codes)], sex="F" if i % 2 else "M")
                for urn in ("100001", "100002") for year in ("2023-24", "2024-25") for i in range(30)]
        if corrected:   # one pupil of 100002's 2024-25 return: further education -> NEET
            i = next(k for k, r in enumerate(rows) if r["academy_urn"] == "100002" and r["leaving_year"] == "2024-25"
                     and r["destination_code"] == "230")
            rows[i] = {**rows[i], "destination_code": "540"}
        return rows

    marts = ["destination_measures", "neet_not_known"]
    build = ("build", "--select", "+destination_measures +neet_not_known", "--exclude-resource-type", "test",
             "--exclude-resource-type", "unit_test")
    load_raw(wh, pupils(False), [academy("100001"), academy("100002")])
    load_benchmarks(wh)
    run_dbt(wh, *build)
    serving = tmp_path / "serving"
    first = publish_snapshot(wh, serving, marts)
    con = duckdb.connect(str(wh), read_only=True)
    from pipelines.lib.publish import _columns
    recorded = recorded_hashes(con, "marts")
    assert set(recorded) == set(marts) and read_manifest(serving)["hashes"] == recorded
    for t in marts:    # rows and columns as the table has them (what a publish checks)
        n, _, cols = recorded[t].split(":", 2)
        assert int(n) == con.execute(f"select count(*) from marts.{t}").fetchone()[0] > 0 and cols == _columns(con, "marts")[t]
    con.close()

    load_raw(wh, pupils(True), [academy("100001"), academy("100002")])
    monkeypatch.setenv("DESTINATIONS_BUILD_LEAVING_YEARS", "2024-25")   # in place, the corrected year only
    run_dbt(wh, *build)
    second = publish_snapshot(wh, serving, marts)
    assert second.new_version and sorted(second.changed) == marts
    con = duckdb.connect(str(wh), read_only=True)
    try:
        for t in marts:   # the snapshot holds exactly the rebuilt rows (EXCEPT ALL both ways)
            for a, b in ((f"marts.{t}", f"read_parquet('{second.path / t}.parquet')"),
                         (f"read_parquet('{second.path / t}.parquet')", f"marts.{t}")):
                assert con.execute(f"select count(*) from (select * from {a} except all select * from {b})"
                                   ).fetchone()[0] == 0, t
        neet = con.execute(f"select neet from read_parquet('{second.path}/destination_measures.parquet') "
                           "where level = 'academy' and academy_urn = '100002' and leaving_year = '2024-25' "
                           "and round = 'R3' and breakdown_topic = 'Total' and key_stage = 'KS4'").fetchone()[0]
        old = con.execute(f"select neet from read_parquet('{first.path}/destination_measures.parquet') "
                          "where level = 'academy' and academy_urn = '100002' and leaving_year = '2024-25' "
                          "and round = 'R3' and breakdown_topic = 'Total' and key_stage = 'KS4'").fetchone()[0]
        assert neet == old + 1
    finally:
        con.close()

    run_dbt(wh, *build)   # rebuilt, same rows
    third = publish_snapshot(wh, serving, marts)
    assert not third.new_version and third.changed == [] and third.path == second.path
