"""Documents drawn by worker processes as well as this one (report/workers.py)."""
from __future__ import annotations

import os

import pytest

from pipelines.lib.report import workers


def square_with_pid(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


def fail_on_seven(n: int) -> int:
    if n == 7:
        raise ValueError("job 7 cannot be drawn")
    return n


def test_results_in_job_order_workers_take_a_share(monkeypatch):
    monkeypatch.setenv("DESTINATIONS_DOCUMENT_WORKERS", "2")
    got = workers.draw_all(square_with_pid, list(range(20)), pool_from=1)
    assert [v for v, _ in got] == [n * n for n in range(20)]
    pids = {p for _, p in got}
    assert os.getpid() in pids and len(pids) == 2          # this process and one worker drew


def test_one_process_or_few_jobs_draw_here(monkeypatch):
    monkeypatch.setenv("DESTINATIONS_DOCUMENT_WORKERS", "1")
    assert {p for _, p in workers.draw_all(square_with_pid, list(range(20)), pool_from=1)} == {os.getpid()}
    monkeypatch.setenv("DESTINATIONS_DOCUMENT_WORKERS", "2")
    assert {p for _, p in workers.draw_all(square_with_pid, list(range(3)))} == {os.getpid()}
    monkeypatch.setenv("DESTINATIONS_DOCUMENT_WORKERS", "two")
    with pytest.raises(ValueError, match="DESTINATIONS_DOCUMENT_WORKERS"):
        workers.draw_all(square_with_pid, list(range(20)))


def test_a_failing_document_fails_the_call(monkeypatch):
    """A document that cannot be drawn in a worker raises here, as it would drawn here."""
    monkeypatch.setenv("DESTINATIONS_DOCUMENT_WORKERS", "2")
    with pytest.raises(ValueError, match="job 7"):
        workers.draw_all(fail_on_seven, list(range(12)), pool_from=1)


def slow_first(job: tuple[int, str]) -> tuple[int, int]:
    """Job 0 is long (as the trustee pack is among the governor packs): it lasts until 30 of the
    short jobs are done (each leaves a file in the job's folder), so it ends early only if the
    workers were fed while this process drew it (a minute at most, whatever the machine's load)."""
    import time
    from pathlib import Path
    n, folder = job
    if n == 0:
        deadline = time.monotonic() + 60
        while len(list(Path(folder).iterdir())) < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
    else:
        (Path(folder) / str(n)).touch()
    return n, os.getpid()


def test_workers_keep_drawing_while_this_process_draws_a_long_job(monkeypatch, tmp_path):
    monkeypatch.setenv("DESTINATIONS_DOCUMENT_WORKERS", "2")
    got = workers.draw_all(slow_first, [(n, str(tmp_path)) for n in range(40)], pool_from=1)
    assert [n for n, _ in got] == list(range(40))
    assert got[0][1] == os.getpid()                         # the first (long) job: drawn here
    by_worker = sum(1 for _, p in got[1:] if p != os.getpid())
    assert by_worker >= 30, got                             # the workers were fed meanwhile


def nested(n: int) -> list[tuple[int, int]]:
    """A job that draws its own parts with draw_all (as the trustee pack draws its charts)."""
    return [(n, os.getpid())] + workers.draw_all(square_with_pid, list(range(10)), pool_from=1)


def test_a_draw_all_inside_a_job_shares_the_workers(monkeypatch):
    monkeypatch.setenv("DESTINATIONS_DOCUMENT_WORKERS", "2")
    got = workers.draw_all(nested, list(range(12)), pool_from=1)
    pids = {p for parts in got for _, p in parts}
    assert len(pids) == 2 and os.getpid() in pids          # no second pool, no pool inside a worker
    for n, parts in enumerate(got):
        assert parts[0][0] == n and [v for v, _ in parts[1:]] == [k * k for k in range(10)]
        if parts[0][1] != os.getpid():                      # drawn in a worker: its parts there too
            assert {p for _, p in parts} == {parts[0][1]}


def sleep_long(n: int) -> int:
    import time
    time.sleep(3600)
    return n


KILLED = """
from tests.report.test_workers import sleep_long
from pipelines.lib.report import workers
workers.draw_all(sleep_long, list(range(4)), pool_from=1)
"""

NEXT = """
import os, tempfile
from pipelines.lib import scratch
scratch.forkserver_context()   # what the next run's pool does first
print(*sorted(os.listdir(tempfile.gettempdir())))
"""


def test_a_killed_documents_step_leaves_no_worker_folder_after_the_next_run(request):
    """kill -9 of a run drawing its documents leaves the workers' forkserver folder (its socket);
    it carries the run's pid, and the next process to start workers removes it."""
    import subprocess
    import sys

    from tests.killed import REPO, kill_when, short_temp

    temp = short_temp(request)   # the socket path must fit
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONPATH": REPO, "DESTINATIONS_DOCUMENT_WORKERS": "2"}
    pid = kill_when(KILLED, env, "pymp-{pid}-*/listener-*", temp, "the documents (no worker started)",
                    patience=120, settle=1.0)
    assert [p.name.rsplit("-", 1)[0] for p in temp.iterdir()] == [f"pymp-{pid}"]   # the kill's
    out = subprocess.run([sys.executable, "-c", NEXT], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    left = out.stdout.split()
    assert len(left) == 1 and left[0].startswith("pymp-") and not left[0].startswith(f"pymp-{pid}-"), left
