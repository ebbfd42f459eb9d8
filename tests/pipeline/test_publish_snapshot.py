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
