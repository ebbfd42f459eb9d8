"""The documents drawn after each publish, every kind in one list: the trustee pack, a governor
pack per academy and a public statement per academy.

Each kind first works out, in this process, which of its documents must be drawn (only those
whose content changed: report/built.py) and returns them as a Batch. draw_batches then draws the
jobs of every batch in one call of workers.draw_all: the first job, the trustee pack (the longest
by far), here, while worker processes draw the short documents from the end of the list. Drawn
one kind after another, each kind waited for the one before and the trustee pack ran alone.

One document that cannot be drawn does not stop the others: its kind records the documents it did
draw and reports the failure (`draw_batches` returns the exception for that kind).
"""
from __future__ import annotations

import pickle
import traceback
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Batch:
    """The documents of one kind still to draw: draw(job) for each job (a module-level function,
    pickled jobs), then finish(results) here, in job order (a Failed for a job that raised),
    which records what was drawn and gives the kind's result."""
    kind: str
    draw: Callable
    jobs: list
    finish: Callable[[list], object]


@dataclass
class Failed:
    """A job that raised: the exception (a RuntimeError with its text when it cannot be pickled)."""
    error: BaseException


def drawn(result) -> bool:
    return not isinstance(result, Failed)


def _guarded(job: tuple):
    draw, arg = job
    try:
        return draw(arg)
    except Exception as exc:  # noqa: BLE001 - handed to the batch's finish, raised by its caller
        try:
            pickle.dumps(exc)
        except Exception:  # noqa: BLE001
            exc = RuntimeError("".join(traceback.format_exception_only(exc)).strip())
        return Failed(exc)


def draw_batches(batches: list[Batch]) -> dict[str, object]:
    """Draw every batch's jobs together (first batch's first), then finish each batch: kind ->
    what its finish returned, or the first exception of its jobs or of its finish."""
    from pipelines.lib.report.workers import draw_all

    jobs = [(b.draw, j) for b in batches for j in b.jobs]
    preload = {b.draw.__module__ for b in batches} | {"pipelines.lib.report.charts"}
    results = draw_all(_guarded, jobs, preload=preload)
    out: dict[str, object] = {}
    at = 0
    for b in batches:
        mine, at = results[at:at + len(b.jobs)], at + len(b.jobs)
        try:
            out[b.kind] = b.finish(mine)
        except Exception as exc:  # noqa: BLE001 - the caller reports each kind
            out[b.kind] = exc
            continue
        failed = next((r.error for r in mine if not drawn(r)), None)
        if failed is not None:
            out[b.kind] = failed
    return out


def draw_batch(batch: Batch):
    """One kind alone: its finish's result; the first job's exception is raised."""
    out = draw_batches([batch])[batch.kind]
    if isinstance(out, BaseException):
        raise out
    return out
