"""Many documents drawn at once: this process and worker processes share the list.

A document's bytes do not depend on which process draws it (fonts: report/pdffonts.py; line
counts are remembered per document), so the files are the same as drawn one after another
(tests/report/test_workers.py). Workers start from a fresh interpreter (forkserver, with the
drawing module imported once), never a fork of this one: a Dagster run has threads a fork would
copy mid-flight. Each worker writes its document's files itself, atomically (temp file, rename).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

POOL_FROM = 8      # fewer documents than this are drawn here alone (a worker takes ~1 s to start)


def processes() -> int:
    """Processes drawing documents, this one included: env DESTINATIONS_DOCUMENT_WORKERS, default
    the cores this process may use; 1 = this process alone."""
    from pipelines.lib.cores import processes
    return processes("DESTINATIONS_DOCUMENT_WORKERS")


def draw_all(draw: Callable, jobs: Sequence, pool_from: int | None = None) -> list:
    """[draw(job) for job in jobs], in job order. With many jobs and more than one process, worker
    processes take jobs from the end of the list while this one takes them from the start.
    `draw` is a module-level function and each job and result can be pickled. When workers cannot
    be started, this process draws what is left."""
    n = processes()
    if n <= 1 or len(jobs) < (POOL_FROM if pool_from is None else pool_from):
        return [draw(j) for j in jobs]
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([draw.__module__])
    results: dict[int, object] = {}
    front, back = 0, len(jobs) - 1           # next job here; next job for a worker
    running: dict = {}
    try:
        with ProcessPoolExecutor(n - 1, mp_context=ctx) as pool:
            while front <= back or running:
                while front <= back and len(running) < 2 * (n - 1):   # each worker busy, one job waiting
                    running[pool.submit(draw, jobs[back])] = back
                    back -= 1
                if front <= back:
                    results[front] = draw(jobs[front])
                    front += 1
                    done = [f for f in running if f.done()]
                else:
                    done = wait(running, return_when=FIRST_COMPLETED).done
                for f in done:
                    results[running.pop(f)] = f.result()
    except (BrokenProcessPool, OSError):     # no worker could start (e.g. a main module that cannot be re-imported)
        for i, j in enumerate(jobs):
            if i not in results:
                results[i] = draw(j)
    return [results[i] for i in range(len(jobs))]
