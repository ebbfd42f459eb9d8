"""A damaged warehouse is detected and moved aside; a failed dbt names the real cause."""
import json

import duckdb

from pipelines.lib.dbt_manifest import dbt_failure_cause
from pipelines.lib.runstate import Inputs, diff
from pipelines.lib.warehouse import move_aside, warehouse_problem


def test_damaged_warehouse_is_detected_and_moved_aside(tmp_path):
    wh = tmp_path / "warehouse.duckdb"
    assert warehouse_problem(wh) is None            # none yet: fine, it will be built
    con = duckdb.connect(str(wh))
    con.execute("create table t as select 1 as x")
    con.close()
    assert warehouse_problem(wh) is None
    wh.write_bytes(b"\x00garbage" * 5000)
    problem = warehouse_problem(wh)
    assert problem and "not a valid DuckDB database" in problem
    moved = move_aside(wh)
    assert not wh.exists() and moved.exists() and moved.name.startswith("warehouse.duckdb.corrupt-")


def test_dbt_failure_names_a_full_disk(tmp_path):
    (tmp_path / "dbt.log").write_text(
        "12:00:01 Began running node model.x\n"
        "12:00:02 Runtime Error in model destination_measures (models/marts/destination_measures.sql)\n"
        "  IO Error: Could not write file \"/data/warehouse/warehouse.duckdb.wal\": No space left on device\n")
    cause = dbt_failure_cause(tmp_path, "The dbt CLI process with command `dbt build` failed with exit code 2")
    assert "No space left on device" in cause and "warehouse.duckdb.wal" in cause


def test_dbt_failure_names_a_full_disk_from_a_json_log_and_only_this_run(tmp_path):
    """dagster-dbt logs JSON lines; the message is taken out of them. An earlier run's error in the
    same log is not blamed for this one."""
    event = {"data": {"base_msg": "duckdb error: x"}, "info": {
        "msg": 'DuckDB adapter: duckdb error: TransactionContext Error: Failed to commit: Could not write file '
               '"/data/warehouse/warehouse.duckdb.wal": No space left on device', "level": "debug"}}
    log = tmp_path / "dbt.log"
    log.write_text(json.dumps(event) + "\n")
    cause = dbt_failure_cause(tmp_path, "The dbt CLI process with command `dbt build` failed with exit code 2")
    assert cause == ('TransactionContext Error: Failed to commit: Could not write file '
                     '"/data/warehouse/warehouse.duckdb.wal": No space left on device')
    from pipelines.lib.dbt_manifest import log_size
    since = log_size(tmp_path)
    with log.open("a") as fh:
        fh.write(json.dumps({"info": {"msg": "Runtime Error in model m: Binder Error: column x not found"}}) + "\n")
    (tmp_path / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": "model.t.m", "status": "error", "message": "Binder Error: column x not found"}]}))
    assert dbt_failure_cause(tmp_path, "dbt CLI process failed", since=since) == \
        "model.t.m: Binder Error: column x not found"


def test_dbt_failure_names_the_failing_node(tmp_path):
    (tmp_path / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": "model.a", "status": "success", "message": "OK"},
        {"unique_id": "test.t.not_null_x", "status": "fail", "message": "Got 3 results, configured to fail if != 0"},
    ]}))
    assert dbt_failure_cause(tmp_path, "dbt CLI process failed") == \
        "test.t.not_null_x: Got 3 results, configured to fail if != 0"


def test_dbt_failure_names_where_a_test_kept_its_failing_rows(tmp_path):
    """tests/published_marts_row_checks.sql checks eight marts in one node: its failing rows (mart,
    check, rows) are kept in a view, and the cause says where to read them."""
    (tmp_path / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": "test.t.published_marts_row_checks", "status": "fail",
         "message": "Got 2 results, configured to fail if != 0",
         "relation_name": '"warehouse"."dbt_test__audit"."published_marts_row_checks"'},
    ]}))
    assert dbt_failure_cause(tmp_path, "dbt CLI process failed") == (
        "test.t.published_marts_row_checks: Got 2 results, configured to fail if != 0 (failing rows: "
        'select * from "warehouse"."dbt_test__audit"."published_marts_row_checks")')


def test_changes_since_last_success():
    before = Inputs(groups={"code": "1", "dbt": "1", "validation": "1", "fsq": "1", "reuploads": "1"},
                    partitions={"2025-26/R3": "a", "2025-26/R2": "b"}, today="2026-12-01")
    same = diff({"inputs": before.to_json()}, before)
    assert same.nothing
    now = Inputs(groups=dict(before.groups, fsq="2"), partitions={"2025-26/R3": "c", "2025-26/R2": "b"},
                 today="2026-12-02")
    ch = diff({"inputs": before.to_json()}, now)
    assert not ch.full and ch.groups == {"fsq"} and ch.partitions == {"2025-26/R3"} and ch.new_day
    assert diff({"inputs": before.to_json()}, Inputs(groups=dict(before.groups, code="2"))).full
    assert diff({}, before).full


def test_run_summary_prefers_the_named_cause():
    from pipelines.runner import _first_line
    chain = ("dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while executing op\n"
             "dbt build failed: IO Error: Could not write file: No space left on device\n"
             "The dbt CLI process with command `dbt build` failed with exit code 2.")
    assert _first_line(chain) == "dbt build failed: IO Error: Could not write file: No space left on device"
    # as the real full-disk run printed it (bench/fault_runs.py --disk-full)
    assert _first_line("dagster._core.definitions.events.Failure: dbt build failed: [Errno 28] No space left on "
                       "device") == "dbt build failed: [Errno 28] No space left on device"
    # Ctrl-C during the dbt step, as a real interrupted run printed it
    assert _first_line("dagster._core.errors.DagsterExecutionInterruptedError") == \
        "interrupted (Ctrl-C or SIGINT) before it finished"
    assert _first_line("ValueError: DagsterExecutionInterruptedError is a name") == \
        "ValueError: DagsterExecutionInterruptedError is a name"


def test_submit_names_a_damaged_warehouse_not_a_busy_one(tmp_path):
    """`submit` against a damaged warehouse says so (the next run rebuilds it); a locked one is 'busy'."""
    import subprocess
    import sys
    import textwrap

    from pipelines.config import paths
    from pipelines.lib.returns.context import build_context, read_only_warehouse
    p = paths(tmp_path)
    p.warehouse.parent.mkdir(parents=True)
    p.warehouse.write_bytes(b"\x00garbage" * 5000)
    with read_only_warehouse(p, attempts=1) as con:
        ctx = build_context(p, "100001", "2025-26", "R3", con)
    assert any("could not be read" in n and "rebuilds it from raw/" in n for n in ctx.notes), ctx.notes
    p.warehouse.unlink()
    duckdb.connect(str(p.warehouse)).close()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, time
        con = duckdb.connect({str(p.warehouse)!r})
        print("open", flush=True)
        time.sleep(600)""")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with read_only_warehouse(p, attempts=1) as con:
            ctx = build_context(p, "100001", "2025-26", "R3", con)
        assert any("warehouse was busy" in n for n in ctx.notes), ctx.notes
    finally:
        holder.kill()
        holder.wait()
    # during a run the file is not even opened
    from pipelines.lib.warehouse import run_lock
    with run_lock(p.warehouse_dir):
        probe = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
            from pathlib import Path
            from pipelines.config import paths
            from pipelines.lib.returns.context import build_context, read_only_warehouse
            p = paths(Path({str(tmp_path)!r}))
            with read_only_warehouse(p, attempts=1) as con:
                ctx = build_context(p, "100001", "2025-26", "R3", con)
            print(con is None, ctx.notes)""")], capture_output=True, text=True)
    assert probe.stdout.startswith("True") and "warehouse was busy" in probe.stdout, probe.stdout + probe.stderr


def test_an_unchanged_warehouse_file_is_not_reopened_but_a_damaged_one_is(tmp_path):
    """`destinations run` with nothing new skips opening the warehouse only while the file is
    exactly as the last successful run left it; truncating or overwriting it is noticed."""
    import os

    from pipelines.config import paths
    from pipelines.lib import runstate
    p = paths(tmp_path)
    p.warehouse_dir.mkdir(parents=True)
    con = duckdb.connect(str(p.warehouse))
    con.execute("create table t as select range as x from range(50000)")
    con.close()
    runstate.save(p, Inputs(), warehouse=runstate.warehouse_stat(p))
    state = runstate.load(p)
    assert runstate.warehouse_as_recorded(p, state)
    data = p.warehouse.read_bytes()
    p.warehouse.write_bytes(data[: len(data) // 3])          # truncated (same mtime kept)
    st = os.stat(p.warehouse)
    os.utime(p.warehouse, ns=(st.st_atime_ns, state["warehouse"][1]))
    assert not runstate.warehouse_as_recorded(p, state)
    p.warehouse.write_bytes(b"\x00" * len(data))             # same size, new contents
    assert not runstate.warehouse_as_recorded(p, state)
    assert warehouse_problem(p.warehouse)
    assert not runstate.warehouse_as_recorded(p, {})        # no record: always opened


def test_a_corrected_file_with_the_same_size_and_mtime_is_noticed(tmp_path, monkeypatch):
    """A correction of the same length copied in with its old modification time (cp -p, rsync -a,
    an unzipped archive: the fault script's trials do exactly this) is a change: the digest cache
    must not serve the old hash, or neither the scan nor the loader sees the corrected return."""
    import os

    from pipelines.config import paths
    from pipelines.lib.runstate import CACHE_FILE, DigestCache, scan
    p = paths(tmp_path)
    f = p.returns / "100001" / "2024-25" / "R3" / "return.csv"
    f.parent.mkdir(parents=True)
    f.write_text("upn,sex\nA123,F\n")
    landed = f.stat().st_mtime_ns
    before = scan(p).partitions["2024-25/R3"]
    cache = DigestCache(p.warehouse_dir / CACHE_FILE)
    old = cache.digest(f)
    f.write_text("upn,sex\nA123,M\n")                     # same size
    os.utime(f, ns=(landed, landed))                      # same modification time
    assert DigestCache(p.warehouse_dir / CACHE_FILE).digest(f) != old
    assert scan(p).partitions["2024-25/R3"] != before
    # an untouched file is still served from the cache, never re-read
    import pipelines.lib.runstate as runstate
    scan(p)

    def no_read(*a, **k):
        raise AssertionError(f"re-read {a[0]}")
    monkeypatch.setattr(runstate, "open", no_read, raising=False)
    assert scan(p).partitions["2024-25/R3"] != before


def test_an_interrupted_step_is_said_failed_after_the_seconds_it_really_ran(tmp_path):
    """Ctrl-C (SIGINT to the run's process group) while dbt builds: the step is said FAILED after
    the seconds since its start (Dagster's failure event has no duration: it said 0.0s), in its
    line and in the timing summary."""
    import os
    import re
    import signal
    import subprocess
    import threading
    import time

    from bench.fault_runs import command, env_for
    from pipelines.lib.generate import generate_trust
    generate_trust(tmp_path, academies=2, years=1, seed=5)
    proc = subprocess.Popen(command("run"), env=env_for(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    seen: list[str] = []
    threading.Thread(target=lambda: seen.extend(proc.stdout), daemon=True).start()
    deadline = time.monotonic() + 600
    while "step warehouse_models started" not in "".join(seen) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "".join(seen)
    time.sleep(4.0)
    os.killpg(proc.pid, signal.SIGINT)            # as Ctrl-C in a terminal: the run and its dbt
    proc.wait(timeout=300)
    time.sleep(0.5)                               # the reader thread has the last lines
    out = "".join(seen)
    started = float(re.search(r"\[\s*([\d.]+)s\]   step warehouse_models started", out).group(1))
    at, secs = map(float, re.search(r"\[\s*([\d.]+)s\]   step warehouse_models FAILED in ([\d.]+)s", out).groups())
    assert secs >= 3.5 and abs(secs - (at - started)) < 0.5, out
    assert re.search(rf"\n    warehouse_models\s+{secs:.1f}s\n", out), out
    assert "interrupted (Ctrl-C or SIGINT) before it finished" in out, out
