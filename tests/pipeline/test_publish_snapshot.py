"""The serving snapshot switches as a whole: versioned folders behind one symlink."""
import json
import os

import duckdb
import polars as pl

from pipelines.lib.publish import collect_garbage, publish_snapshot, read_manifest, resolve_snapshot


def _warehouse(tmp_path, a=5, b=3):
    wh = tmp_path / "w.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("create schema if not exists marts")
    con.execute(f"create or replace table marts.a as select range as x, range * 0.5 as y from range({a})")
    con.execute(f"create or replace table marts.b as select range as z from range({b})")
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
