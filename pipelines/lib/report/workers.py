"""Many documents drawn at once: this process and worker processes share the list.

A document's bytes do not depend on which process draws it (fonts: report/pdffonts.py; line
counts are remembered per document), so the files are the same as drawn one after another
(tests/report/test_workers.py). Workers start from a fresh interpreter (forkserver, with the
drawing modules imported once), never a fork of this one: a Dagster run has threads a fork would
copy mid-flight. Each worker writes its document's files itself, atomically (temp file, rename).

This process takes jobs from the start of the list and the workers from its end, so a long job
put first (the trustee pack) is drawn here while the workers draw the short ones. A thread of
this process keeps the workers fed meanwhile. A draw_all called inside a job drawn here (the
trustee pack's charts) shares the same workers; one called in a worker draws in that worker.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

POOL_FROM = 8      # fewer documents than this are drawn here alone (a worker takes ~1 s to start)

_pool = None            # the worker pool of the draw_all running in this process, if any
_in_worker = False      # True in a worker process: it draws everything it is given itself


def _worker_started() -> None:
    global _in_worker
    _in_worker = True


def processes() -> int:
    """Processes drawing documents, this one included: env DESTINATIONS_DOCUMENT_WORKERS, default
    the cores this process may use; 1 = this process alone."""
    from pipelines.lib.cores import processes
    return processes("DESTINATIONS_DOCUMENT_WORKERS")


def draw_all(draw: Callable, jobs: Sequence, pool_from: int | None = None,
             preload: Iterable[str] = ()) -> list:
    """[draw(job) for job in jobs], in job order. With many jobs and more than one process, worker
    processes take jobs from the end of the list while this one takes them from the start.
    `draw` is a module-level function and each job and result can be pickled; `preload` names
    modules the workers import before their first job (besides draw's). When workers cannot be
    started, this process draws what is left."""
    global _pool
    n = processes()
    if _in_worker or n <= 1 or len(jobs) < (POOL_FROM if pool_from is None else pool_from):
        return [draw(j) for j in jobs]
    if _pool is not None:                     # inside a job drawn here: the same workers
        return _share(_pool, n - 1, draw, jobs)
    from concurrent.futures import ProcessPoolExecutor

    from pipelines.lib.scratch import forkserver_context
    ctx = forkserver_context()   # its folder: a killed run's is removed by the next
    ctx.set_forkserver_preload(sorted({draw.__module__, *preload}))
    try:
        with ProcessPoolExecutor(n - 1, mp_context=ctx, initializer=_worker_started) as pool:
            _pool = pool
            try:
                return _share(pool, n - 1, draw, jobs)
            finally:
                _pool = None
    except OSError:                           # the pool itself could not be set up
        return [draw(j) for j in jobs]


def _share(pool, workers: int, draw: Callable, jobs: Sequence) -> list:
    """Draw `jobs` here from the start while a feeder thread keeps `pool` busy from the end."""
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    lock = threading.Lock()
    ends = [0, len(jobs) - 1]                 # next job here; next job for a worker
    results: dict[int, object] = {}
    failed: list[BaseException] = []
    stop = threading.Event()

    def take(here: bool) -> int | None:
        with lock:
            if ends[0] > ends[1]:
                return None
            if here:
                ends[0] += 1
                return ends[0] - 1
            ends[1] -= 1
            return ends[1] + 1

    def feed() -> None:
        running: dict = {}
        try:
            while True:
                while not stop.is_set() and len(running) < 2 * workers:   # each worker busy, one job waiting
                    i = take(here=False)
                    if i is None:
                        break
                    running[pool.submit(draw, jobs[i])] = i
                if not running:
                    return
                for f in wait(running, return_when=FIRST_COMPLETED).done:
                    i = running.pop(f)
                    try:
                        results[i] = f.result()
                    except (BrokenProcessPool, OSError):   # a worker died or could not start: drawn here
                        stop.set()
                    except BaseException as exc:  # noqa: BLE001 - raised by the caller below
                        failed.append(exc)
                        stop.set()
        except (BrokenProcessPool, OSError, RuntimeError):   # no worker could start (e.g. a main module
            stop.set()                                       # that cannot be re-imported): drawn here

    feeder = threading.Thread(target=feed, name="document-workers", daemon=True)
    feeder.start()
    try:
        while not failed and (i := take(here=True)) is not None:
            results[i] = draw(jobs[i])
    finally:
        stop.set()
        feeder.join()
    if failed:
        raise failed[0]
    return [results[i] if i in results else draw(jobs[i]) for i in range(len(jobs))]
