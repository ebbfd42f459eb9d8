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
