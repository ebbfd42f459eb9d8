"""The engine's scheduling of blocks: one queue of large blocks for the worker processes over
every partition of a run (largest first), partitions built and their small blocks done while
earlier partitions' large blocks are still out. Scheduling never changes a cell: each block's
decision depends only on its own inputs."""
from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

import polars as pl

from pipelines.lib.disclosure import engine
from tests.disclosure.test_partitions import _frames, _sorted


class _Pool:
    """An executor that runs nothing: each submit is recorded, its future done later by `finish`."""

    def __init__(self) -> None:
        self.futures: list[Future] = []

    def submit(self, fn, *payload):
        f = Future()
        self.futures.append(f)
        return f


class _Procs:
    def __init__(self) -> None:
        self.pool, self.closed = _Pool(), 0

    def get(self, n):
        return self.pool

    def close(self):
        self.closed += 1


def test_the_queue_sends_the_largest_waiting_block_first_and_at_most_n_plus_one():
    procs = _Procs()
    q = engine._Queue(procs, 2)
    made, got = [], []
    for size in (5, 50, 7, 500, 50, 1):   # two protect calls' blocks, added in any order
        q.add(size, lambda size=size: made.append(size) or size, got.append)
    assert made == [] and q.busy()
    q.top_up()
    assert made == [500, 50, 50]                    # n + 1 out; the largest; ties in the order added
    procs.pool.futures[0].set_result("first")
    q.top_up()
    assert got == ["first"] and made == [500, 50, 50, 7]
    for f in procs.pool.futures[1:]:
        f.set_result("r")
    q.wait()
    assert made == [500, 50, 50, 7, 5, 1] and len(got) == 4
    for f in procs.pool.futures[4:]:
        f.set_result("r")
    q.wait()
    assert len(got) == 6 and not q.busy()


def test_a_failed_worker_leaves_the_queue_empty_and_the_processes_closed():
    procs = _Procs()
    q = engine._Queue(procs, 2)
    got = []
    for size in (3, 2, 1, 4):
        q.add(size, lambda: 0, got.append)
    q.top_up()
    procs.pool.futures[0].set_exception(BrokenProcessPool("a worker died"))
    q.wait()
    assert q.failed and not q.busy() and procs.closed == 1 and got == []
    assert not q.usable(5)


def _run(tmp_path, name, frames, **kw):
    return engine.run(frames, cache_path=tmp_path / f"{name}.sqlite", by_partition=True, **kw)


def test_partitions_pipelined_give_the_cold_result_whatever_the_workers_do(tmp_path, monkeypatch):
    """Every block to the workers (POOL_FROM_VARS 0), partitions one at a time (BATCH_CELLS 0):
    with workers never seen done before the end (every partition built before any is finished),
    with room for no partition pending (each finished before the next is built), with workers
    that fail, and with 1 and 3 workers, the cells are those of one cold run in this process."""
    frames = _frames()
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_WORKERS", "1")
    cold = engine.run(frames)
    assert cold.cells["hidden"].sum() > 0
    monkeypatch.setattr(engine, "POOL_FROM_VARS", 0)
    monkeypatch.setattr(engine, "BATCH_CELLS", 0)
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_WORKERS", "2")
    events = []
    real_build = engine.build_structure

    def build(fr):
        events.append("build")
        return real_build(fr)
    monkeypatch.setattr(engine, "build_structure", build)

    def sink(label, digest, cells):
        events.append("finish")
        kept.append(cells.with_columns(partition_label=pl.lit(label)))

    # the workers' results only looked at when nothing else is left here
    real_done = engine._Blocks.done
    monkeypatch.setattr(engine._Blocks, "done", lambda self: False)
    monkeypatch.setattr(engine, "PIPELINE_CELLS", 10 ** 9)
    kept: list = []
    got = _run(tmp_path, "late", frames, written={}, on_partition=sink)
    assert events == ["build"] * 3 + ["finish"] * 3 and not got.unresolved
    assert _sorted(pl.concat(kept)).equals(_sorted(cold.cells))

    monkeypatch.setattr(engine, "PIPELINE_CELLS", 0)
    events.clear()
    kept = []
    _run(tmp_path, "none", frames, written={}, on_partition=sink)
    assert events == ["build", "finish"] * 3
    assert _sorted(pl.concat(kept)).equals(_sorted(cold.cells))
    monkeypatch.setattr(engine._Blocks, "done", real_done)
    monkeypatch.setattr(engine, "PIPELINE_CELLS", 10 ** 9)

    for n in ("1", "3"):
        monkeypatch.setenv("DESTINATIONS_DISCLOSURE_WORKERS", n)
        assert _sorted(_run(tmp_path, f"w{n}", frames).cells).equals(_sorted(cold.cells))

    # workers that die after the first partition's blocks were sent: the rest done here
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_WORKERS", "2")
    real_top_up, calls = engine._Queue.top_up, []

    def top_up(self):
        calls.append(1)
        if len(calls) > 3:
            self.fail()
        return real_top_up(self)
    monkeypatch.setattr(engine._Queue, "top_up", top_up)
    broken = _run(tmp_path, "broken", frames)
    assert len(calls) > 3 and not broken.unresolved
    assert _sorted(broken.cells).equals(_sorted(cold.cells))


def test_changed_partitions_are_done_largest_first(tmp_path, monkeypatch):
    """Changed partitions go to _batches largest first (cells, then label): the partition likeliest
    to hold the longest block starts it soonest."""
    frames = _frames()
    frames["neet_risk_rates"] = frames["neet_risk_rates"].filter(pl.col("leaving_year") != "2024-25")
    seen = []
    real = engine._batches

    def batches(labels, cells):
        seen.append((list(labels), dict(cells)))
        return real(labels, cells)
    monkeypatch.setattr(engine, "_batches", batches)
    _run(tmp_path, "order", frames)
    (labels, cells), = seen
    assert labels[-1] == "leaving_year=2024-25" and cells[labels[-1]] < cells[labels[0]]
    assert labels == sorted(labels, key=lambda label: (-cells[label], label))
    # a correction: only the changed partition is done
    seen.clear()
    _run(tmp_path, "order", _frames(flip="2025-26") | {"neet_risk_rates": frames["neet_risk_rates"]})
    assert [labels for labels, _ in seen] == [["leaving_year=2025-26"]]


def test_idle_workers_take_small_blocks_and_the_cells_do_not_change(tmp_path, monkeypatch):
    """With the workers started for a large block, a worker with nothing to do gets the largest
    small blocks left (SEND_FROM_VARS; here a worker always counts as idle): the same cells as
    one cold run in this process."""
    frames = _frames()
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_WORKERS", "1")
    cold = engine.run(frames)
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_WORKERS", "2")
    monkeypatch.setattr(engine, "POOL_FROM_VARS", 700)   # one block a year this large (720 variables)
    monkeypatch.setattr(engine, "SEND_FROM_VARS", 0)
    monkeypatch.setattr(engine, "BATCH_CELLS", 0)
    real_idle = engine._Queue.idle
    monkeypatch.setattr(engine._Queue, "idle", lambda self: self.procs.pool is not None and not self.failed)
    sent = []
    real = engine._Queue.add
    monkeypatch.setattr(engine._Queue, "add", lambda self, size, make, done:
                        sent.append(size) or real(self, size, make, done))
    got = _run(tmp_path, "idle", frames)
    small = [size for size in sent if size < 700]
    assert len(sent) == got.stats["blocks"] and small == sorted(small, reverse=True) != [], sent
    assert _sorted(got.cells).equals(_sorted(cold.cells)) and not got.unresolved
    # idle: started workers with fewer than n + 1 blocks out and none waiting
    procs = _Procs()
    procs.pool = None
    q = engine._Queue(procs, 2)
    assert not real_idle(q)
    procs.pool = _Pool()
    assert real_idle(q)
    q.add(1, lambda: 0, print)
    assert not real_idle(q)
    q.top_up()
    assert real_idle(q)
    q.add(1, lambda: 0, print)
    q.add(1, lambda: 0, print)
    q.top_up()
    assert not real_idle(q)


def test_workers_start_before_the_first_structure_only_when_a_large_block_may_come(tmp_path, monkeypatch):
    procs = _Procs()
    procs.pool = None
    real_get = procs.get

    def get(n):
        procs.pool = real_get(n) or _Pool()
        return procs.pool
    procs.get = get
    q = engine._Queue(procs, 2)
    monkeypatch.setattr(engine, "_kernel_loaded", False)
    clock = engine._Clock()
    q.start(clock)
    assert len(procs.pool.futures) == 1               # one worker started, loading the kernel
    # this process loads it only at its first block here, after the large blocks are sent
    assert not engine._kernel_loaded and "kernel load" not in clock.steps
    q.start(engine._Clock())
    assert len(procs.pool.futures) == 1               # once
    one = _Procs()
    one.pool = None
    engine._Queue(one, 1).start(engine._Clock())
    assert one.pool is None

    started = []
    monkeypatch.setattr(engine._Queue, "start", lambda self, clock: started.append(self.n))
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_WORKERS", "2")
    _run(tmp_path, "small", _frames())                # partitions of fewer cells than a large block
    assert started == []
    monkeypatch.setattr(engine, "POOL_FROM_VARS", 10)
    _run(tmp_path, "large", _frames())
    assert started == [2]


class _Here:
    """Worker processes that run each submitted call at once, in this process, recording it."""

    def __init__(self, events: list) -> None:
        self.pool, self.n, self.events = None, 0, events

    def get(self, n):
        self.pool = self
        return self

    def submit(self, fn, *payload):
        f = Future()
        if fn is engine._warm_kernel:   # a worker's own kernel load: nothing to do here
            self.events.append("worker: kernel")
            f.set_result(None)
        else:
            self.events.append("worker: block")
            f.set_result(fn(*payload))
        return f

    def close(self):
        pass


def test_this_process_loads_the_kernel_after_sending_the_large_blocks(tmp_path, monkeypatch):
    """On a run with a large block, the early worker loads the kernel and this process loads it
    only at its first block here, after the large block is sent: its load is not on the large
    block's path. The cells are the cold run's."""
    frames = _frames()
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_WORKERS", "1")
    cold = engine.run(frames)
    events: list = []
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_WORKERS", "2")
    monkeypatch.setattr(engine, "POOL_FROM_VARS", 700)   # one large block a year
    monkeypatch.setattr(engine, "SEND_FROM_VARS", 10 ** 9)   # the small blocks stay here
    monkeypatch.setattr(engine, "_Workers", lambda: _Here(events))
    monkeypatch.setattr(engine, "_kernel_loaded", False)

    def warm():
        events.append("here: kernel" if not engine._kernel_loaded else "again")
        engine._kernel_loaded = True
    monkeypatch.setattr(engine, "_warm_kernel", warm)
    kept: list = []
    got = _run(tmp_path, "order", frames, written={},
               on_partition=lambda label, digest, cells: kept.append(cells))
    assert events[0] == "worker: kernel" and "again" not in events
    assert events.index("here: kernel") > events.index("worker: block")
    assert not got.unresolved and _sorted(pl.concat(kept)).equals(_sorted(cold.cells))
