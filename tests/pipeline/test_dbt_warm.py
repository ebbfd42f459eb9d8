"""The warm dbt process (lib/dbt_warm.py): a command handed to it gives what the same command gives in
a plain dbt process (exit code, events, output, through the launcher's own stdout), and it never
outlives what started it: not used, its launcher killed, or its launcher interrupted."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pipelines.config import DBT_PROJECT_DIR, dbt_env, paths
from pipelines.lib import dbt_warm

KEYS = ("DESTINATIONS_DATA_DIR", "DESTINATIONS_WAREHOUSE_PATH", "DESTINATIONS_DBT_WORKDIR", "DBT_LOG_PATH",
        "DBT_TARGET_PATH", "DESTINATIONS_DISCLOSURE_CACHE", dbt_warm.SOCKET_ENV)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    for k in KEYS:
        monkeypatch.setenv(k, "unset-by-test")          # restored after the test
    monkeypatch.delenv(dbt_warm.SOCKET_ENV)
    p = paths(tmp_path / "trust")
    p.warehouse_dir.mkdir(parents=True)
    dbt_env(p)
    return p


def _launch(args, warm=None) -> subprocess.Popen:
    """The launcher as dagster-dbt starts it: stdout a pipe, stderr into it, cwd the project (once the
    warm process listens, as it does long before a run's dbt step; a launcher before it runs dbt itself)."""
    deadline = time.monotonic() + 30
    while warm and not warm.sock.exists() and warm.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    env = {**os.environ, "DO_NOT_TRACK": "1", **(warm.env if warm else {})}
    return subprocess.Popen([sys.executable, "-m", "pipelines.lib.dbt_cli", *args, "--project-dir",
                             str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)], cwd=DBT_PROJECT_DIR,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)


def _events(out: bytes) -> list[tuple[str, str]]:
    """(event name, message) of dbt's JSON log lines, without times, ids and durations."""
    found = []
    for line in out.decode().splitlines():
        try:
            info = json.loads(line)["info"]
        except (ValueError, KeyError):
            continue
        msg = info["msg"] if info["name"] not in ("MainReportVersion", "CommandCompleted", "LogSelectResult",
                                                  "ShowNode", "SQLQueryStatus", "ConnectionClosed") else ""
        found.append((info["name"], msg if "elapsed" not in msg and " in " not in msg else ""))
    return found


def _run(args, warm=None) -> tuple[int, bytes]:
    proc = _launch(args, warm)
    out, _ = proc.communicate(timeout=120)
    return proc.returncode, out


def _gone(warm: dbt_warm.Warm, within: float = 20) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if warm.proc.poll() is not None:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("sql, code", [("select 41 + 1 as answer", 0), ("select * from no_such_table", 2)])
def test_a_command_run_warm_gives_what_a_plain_dbt_gives(data_dir, sql, code):
    args = ["--log-format", "json", "show", "--inline", sql, "--output", "json"]
    _run(["parse"])                 # both then start from the same saved parse
    warm = dbt_warm.start()
    try:
        warm_code, warm_out = _run(args, warm)
        assert _gone(warm), "the warm process did not exit after its command"
    finally:
        warm.stop()
    plain_code, plain = _run(args)
    assert (warm_code, plain_code) == (code, code), warm_out.decode()[-2000:]
    assert _events(warm_out) == _events(plain)
    assert ('\\"answer\\": 42' in warm_out.decode()) == (code == 0)
    assert not warm.sock.exists()


def test_a_second_command_runs_in_its_own_launcher(data_dir):
    """One command per warm process: the next launcher finds no process waiting and runs dbt itself."""
    warm = dbt_warm.start()
    try:
        args = ["show", "--inline", "select 7 as n", "--output", "json"]
        first, second = _run(args, warm), _run(args, warm)
    finally:
        warm.stop()
    assert first[0] == second[0] == 0 and b'"n": 7' in first[1] and b'"n": 7' in second[1]


def test_an_unused_warm_process_stops_with_the_run(data_dir):
    warm = dbt_warm.start()
    time.sleep(0.5)
    warm.proc.stdin.close()            # what a run's exit (or death) does to its end of the pipe
    assert _gone(warm)
    warm.stop()
    assert not warm.sock.parent.exists()


def _slow(warm) -> subprocess.Popen:
    proc = _launch(["show", "--inline", "select count(*) as n from range(1000000000000)", "--limit", "1"], warm)
    deadline = time.monotonic() + 60
    while warm.sock.exists() and time.monotonic() < deadline:    # until the warm process has taken it
        time.sleep(0.1)
    assert not warm.sock.exists()
    # dbt's start-up (parse, adapter) can take 15 s on a loaded machine: wait for its run to begin,
    # so the interrupt meets the query, not the start-up
    seen = b""
    while b"Concurrency" not in seen and time.monotonic() < deadline + 60:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
    assert b"Concurrency" in seen, seen.decode()[-2000:]
    time.sleep(2)        # the query itself under way
    return proc


def test_a_killed_launcher_takes_the_warm_process_with_it(data_dir):
    warm = dbt_warm.start()
    try:
        proc = _slow(warm)
        assert warm.proc.poll() is None
        proc.kill()
        proc.wait()
        assert _gone(warm), "the warm process ran on after its launcher was killed"
        assert not warm.sock.parent.exists(), "it left its socket folder"
    finally:
        warm.stop()


def test_a_warm_process_whose_run_was_killed_removes_its_folder(data_dir):
    """The run killed (its end of the pipe closes, nobody calls stop): the process ends and tidies up."""
    warm = dbt_warm.start()
    while not warm.sock.exists() and warm.proc.poll() is None:
        time.sleep(0.05)
    warm.proc.stdin.close()          # what the run's death does to its end of the pipe
    assert _gone(warm)
    assert not warm.sock.parent.exists()


def test_an_interrupt_reaches_the_command(data_dir):
    """dagster-dbt cancels a dbt command by SIGINT to the launcher: the command stops, not only the launcher."""
    warm = dbt_warm.start()
    try:
        proc = _slow(warm)
        proc.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        out, _ = proc.communicate(timeout=120)     # the query alone runs for many minutes
        # a plain dbt stops in about 1 s; the signal alone, not cancelling the query, took 31-50 s
        assert time.monotonic() - t0 < 20, f"stopped {time.monotonic() - t0:.0f} s after the interrupt"
        assert b"Exited because of keyboard interrupt" in out, out.decode()[-2000:]
        assert _gone(warm)
    finally:
        warm.stop()


def test_cancelling_a_closed_connection_is_not_an_error():
    """The warm process cancels a query twice (its own cancel, then dbt's); a connection the node
    closed in between has nothing to cancel: dbt's interrupt handling must not fail on it."""
    from types import SimpleNamespace

    import duckdb
    from dbt.adapters.duckdb.environments.local import LocalEnvironment

    closed = duckdb.connect()
    closed.close()
    dbt_warm._cancel_tolerates_closed()
    dbt_warm._cancel_tolerates_closed()    # once is enough: a second call does not wrap it again
    LocalEnvironment.cancel(SimpleNamespace(handle=closed))
    opened = duckdb.connect()
    LocalEnvironment.cancel(SimpleNamespace(handle=opened))   # an open one is still interrupted
    assert opened.execute("select 42").fetchone() == (42,)
    with pytest.raises(duckdb.ConnectionException):
        closed.cursor()     # the error the plain cancel let out


def test_a_warm_command_ends_with_the_warehouse_checkpointed(data_dir):
    """The warm process ends without the interpreter's teardown (dbt_warm.end), after what exiting
    must do: its exit code is the command's, and the warehouse it wrote is checkpointed (no WAL left
    for the next step to replay) and holds what dbt built."""
    import duckdb
    _run(["parse"])
    warm = dbt_warm.start()
    try:
        code, out = _run(["seed", "--select", "key_stages"], warm)
        assert _gone(warm), "the warm process did not exit after its command"
    finally:
        warm.stop()
    assert code == 0 and warm.proc.returncode == 0, out.decode()[-2000:]
    assert not data_dir.warehouse.with_name(data_dir.warehouse.name + ".wal").exists()
    con = duckdb.connect(str(data_dir.warehouse), read_only=True)
    try:
        rows = con.execute("select count(*) from reference.key_stages").fetchone()[0]
    finally:
        con.close()
    seed = (DBT_PROJECT_DIR / "seeds" / "key_stages.csv").read_text().strip().splitlines()
    assert rows == len(seed) - 1 == 4          # the CSV's rows, less its header
