"""One writer per data directory: an OS file lock that a killed holder cannot keep."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pipelines.lib.warehouse import RunInProgress, lock_holder, run_lock

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from pipelines.lib.warehouse import run_lock
    with run_lock(Path(sys.argv[1]), what="test holder"):
        print("locked", flush=True)
        time.sleep(600)
""")


def _hold(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_run_is_told_who_holds_the_lock_and_a_kill_releases_it(tmp_path):
    proc = _hold(tmp_path)
    try:
        with pytest.raises(RunInProgress) as err:
            with run_lock(tmp_path, wait=0):
                pass
        assert f"pid {proc.pid}" in str(err.value) and "started at" in str(err.value)
        assert lock_holder(tmp_path)["what"] == "test holder"
        waited = []
        with pytest.raises(RunInProgress):
            with run_lock(tmp_path, wait=0.5, on_wait=waited.append):
                pass
        assert waited and "a run is in progress" in waited[0]
    finally:
        os.kill(proc.pid, signal.SIGKILL)     # like kill -9 of a run
        proc.wait()
    t0 = time.monotonic()
    with run_lock(tmp_path, wait=5):
        assert lock_holder(tmp_path)["pid"] == os.getpid()
    assert time.monotonic() - t0 < 2


def test_lock_is_reentrant_in_one_process(tmp_path):
    with run_lock(tmp_path, wait=0):
        with run_lock(tmp_path, wait=0):     # an asset inside `destinations run` takes it again
            pass
        assert lock_holder(tmp_path)["pid"] == os.getpid()


def test_a_second_destinations_run_says_a_run_is_in_progress(tmp_path, monkeypatch, capsys):
    """`destinations run --no-wait` exits 75 naming the run in progress; without it, it waits and says for whom."""
    from pipelines.cli import main
    from pipelines.runner import run_pipeline
    (tmp_path / "raw").mkdir()
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DESTINATIONS_WAREHOUSE_PATH", str(tmp_path / "warehouse" / "warehouse.duckdb"))
    proc = _hold(tmp_path / "warehouse")
    try:
        assert main(["run", "--no-wait"]) == 75
        out = capsys.readouterr().out
        assert f"Not started: a run is in progress (test holder, pid {proc.pid}, started at" in out, out
        lines: list[str] = []
        t0 = time.monotonic()
        assert run_pipeline(tmp_path, echo=lines.append, wait=1.0) == 75
        assert time.monotonic() - t0 >= 1.0
        assert lines[0].startswith(f"Waiting: a run is in progress (test holder, pid {proc.pid}"), lines
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


READER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from pipelines.lib.warehouse import reader_lock
    with reader_lock(Path(sys.argv[1])) as free:
        print("reading" if free else "busy", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def test_submit_reads_and_runs_exclude_each_other(tmp_path):
    """A short reader (submit's checks) holds the lock shared: a run starting meanwhile waits for it
    (even with --no-wait, briefly); during a run a reader is told 'busy' and never opens the file."""
    from pipelines.lib.warehouse import reader_lock
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    reader = subprocess.Popen([sys.executable, "-c", READER, str(tmp_path), "1.5"], stdout=subprocess.PIPE,
                              text=True, cwd=repo)
    assert reader.stdout.readline().strip() == "reading"
    t0 = time.monotonic()
    with run_lock(tmp_path, wait=0):
        waited = time.monotonic() - t0
        assert 1.3 <= waited < 10, f"the run took the lock after {waited:.1f}s while a reader held it 1.5s"
        with reader_lock(tmp_path) as free:          # the run's own process may read
            assert free
        other = subprocess.run([sys.executable, "-c", READER, str(tmp_path), "0"], capture_output=True,
                               text=True, cwd=repo)
        assert other.stdout.strip() == "busy"
    reader.wait()


def test_this_process_holding_the_file_is_busy_to_a_reader_only(tmp_path):
    """DuckDB's in-process form of the lock conflict ("same database file with a different
    configuration"): a reader (submit's checks) is told busy; the generic open does not wait
    for it (waiting in this thread never frees it); the damage check never calls it damage."""
    import duckdb

    from pipelines.lib.warehouse import connect_retrying, read_problem, warehouse_problem
    wh = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("create table t as select 1 as x")
    try:
        assert read_problem(wh) == "busy"
        t0 = time.monotonic()
        with pytest.raises(duckdb.Error, match="different configuration"):
            connect_retrying(wh, read_only=True, wait=5)
        assert time.monotonic() - t0 < 1, "connect_retrying waited on a conflict only this process can end"
    finally:
        con.close()
    assert read_problem(wh) is None
    ro = duckdb.connect(str(wh), read_only=True)
    try:
        with pytest.raises(duckdb.Error, match="different configuration"):
            warehouse_problem(wh)                 # held, not damaged: the runner must not move it aside
    finally:
        ro.close()
    assert warehouse_problem(wh) is None and wh.exists()
