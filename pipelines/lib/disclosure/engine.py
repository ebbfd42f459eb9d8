"""The one disclosure engine: which published cells are hidden (c), chosen jointly across all
linked marts so that no audience can work out a hidden cell (research/domain.md §5.1).

primary    a row whose denominator is 1 .. min_cohort-1 is hidden whole; a count of
           1 .. min_count-1, or whose base (the row's cohort) minus it is 1 .. min_count-1, is
           hidden. Zeros and empty rows are shown.
secondary  per connected block of cells (gauss.py, GaussSuppression-style), repeated until
           nothing changes:
           1. directors: one pass over the cells in publish order (shown zeros, the trust's
              denominators, other denominators, then large before small: the order is the cost
              of hiding, most costly first) that publishes a cell unless it would make a hidden
              cell a linear combination of shown ones;
           2. a hidden zero the published cells pin (linearly through shown zeros, or by the
              interval attack: a shown zero total, a whole used up by its shown parts) is
              released, i.e. shown: hiding it protects nothing, and once shown the next pass
              protects whatever it pinned;
           3. academy users: a pass (their own cells' span projected away, shown zeros first,
              everything hidden so far forced hidden) only for those whose own cells expose
              something in the directors' span; where it would hide a trust denominator, it is
              redone with zeros as candidates, so a zero goes instead where that is enough;
           4. non-negativity for academy users: a hidden zero one of them still pins gets the
              smallest non-zero shown cell next to it hidden.
           What an academy's own cells and the shown zeros alone determine is no disclosure
           (counted in stats["known_by_own"]). Only the primary row rule hides whole rows; a
           share must be withheld where its count or its denominator is hidden.
cache      run(cache_path=...) stores each block's decision under a key of everything it
           depends on (BlockCache: one SQLite file, changed entries written), so a re-run
           recomputes only changed blocks (same result as cold); with by_partition it also
           keeps each partition's cells (structure.MartSpec.partition: no relation crosses
           one) and builds the structure of changed partitions only, one at a time, largest
           first (small ones together: BATCH_CELLS).
workers    blocks of POOL_FROM_VARS+ go to worker processes through one _Queue for the run
           (largest first); while they are out the next partition is built and its small
           blocks done here (a worker with nothing to do gets the largest small one left);
           decisions are merged in block order, so no schedule changes a cell.
speed      the elimination (kernel.py) and the interval bounds (intervals.py) are compiled (a
           large block keeps its shown zeros' span between passes: kernel.ZeroSpans); the
           steps around them (structure, primary rules, facts, order, blocks, keys, result) are
           array work; Result.timing has wall/CPU per step and process (bench/bench_engine.py).
memory     a partition run holds the structure being built and at most PIPELINE_CELLS cells of
           partitions whose large blocks are still out; relations, block members
           and audiences are arrays (a block's lists are made when it is done), worker payloads
           are made as they are sent (bench_engine.py --memory: resident memory per step); the
           structure copies each mart's rows once (no row-key tables), keeps a cell's mart,
           measure and partition as Enum codes, and the block keys make cell names a chunk at a time;
           a partition's structure and blocks are freed before its cells are stored, and what is
           freed is given back to the system (release_freed_memory: after each structure, partition
           and a worker's large block).
Deterministic: variables are numbered by mart, row key and measure; every choice is a sort.
"""
from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import heapq
import json
import logging
import os
import pickle
import sqlite3
import sys
import time
import zlib
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.lib.disclosure import gauss
from pipelines.lib.disclosure.attack import bounds
from pipelines.lib.disclosure.gauss import (exposed_by, gauss_pass, go_on, in_span_with, nullspace, project,
                                            span_of, start_pass)
from pipelines.lib.disclosure.progress import PassCounter as _PassCounter   # progress lines: not in _engine_version
from pipelines.lib.disclosure.progress import Progress as _Progress
from pipelines.lib.disclosure.structure import (MART_BY_NAME, Relations, Structure, _as_polars, _components,
                                                build_structure, text_cells)

log = logging.getLogger(__name__)

MIN_COHORT = 6
MIN_COUNT = 3


@dataclass
class Result:
    cells: pl.DataFrame                 # one row per mart cell: mart, row_key, measure, value, hidden, reason
    seconds: float
    rounds: int
    unresolved: dict[str, int] = field(default_factory=dict)  # block -> not converged
    stats: dict = field(default_factory=dict)                  # counts and CPU seconds of the run
    timing: dict = field(default_factory=dict)                 # wall/CPU per step, per process (bench_engine.py)


class _Clock:
    """Wall and CPU seconds per named step (`steps`: name -> [wall, cpu], added up)."""

    def __init__(self, timing: dict | None = None) -> None:
        self.timing = timing if timing is not None else {}
        self.steps = self.timing.setdefault("steps", {})

    @contextlib.contextmanager
    def __call__(self, name: str):
        w, c = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            got = self.steps.setdefault(name, [0.0, 0.0])
            got[0] += time.perf_counter() - w
            got[1] += time.process_time() - c


def _cell_arrays(st: Structure):
    """Per cell (in cell order: by row, then measure): value (null as 0), variable, the cell of
    its row's first measure, and whether it is its row's denominator."""
    c = st.cells
    row = c["row_id"].to_numpy().astype(np.int64)
    assert len(row) < 2 or bool((np.diff(row) >= 0).all()), "cells are not in row order"
    n_rows = int(row[-1]) + 1 if len(row) else 0
    first = np.searchsorted(row, np.arange(n_rows, dtype=np.int64))[row]
    return (c["value"].fill_null(0).to_numpy().astype(np.int64), c["var"].to_numpy().astype(np.int64), first,
            c["is_denominator"].to_numpy().astype(bool))


def _measure_no(st: Structure, of) -> np.ndarray:
    """Per cell: the measure number (within its mart) of `of(spec, measure)`, -1 for None
    (looked up by the cell's mart code and measure number: no text per cell)."""
    mart = st.cells["mart"]
    marts = list(mart.dtype.categories)   # an Enum (build_structure)
    specs = [MART_BY_NAME[name] for name in marts]
    table = np.full((len(marts), max((len(spec.measures) for spec in specs), default=0)), -1, np.int64)
    for i, spec in enumerate(specs):
        for k, m in enumerate(spec.measures):
            t = of(spec, m)
            table[i, k] = spec.measures.index(t) if t is not None else -1
    return table[mart.to_physical().to_numpy().astype(np.int64), st.cells["measure_order"].to_numpy().astype(np.int64)]


def primary_hidden(st: Structure, min_cohort: int = MIN_COHORT, min_count: int = MIN_COUNT) -> dict[int, str]:
    """Variables hidden by the primary rules -> reason: a cell whose row's denominator is
    1 .. min_cohort-1 ("primary row"); else a count (not the denominator) of 1 .. min_count-1,
    or whose base minus it is 1 .. min_count-1 ("primary cell", which wins for a variable with
    cells under both rules)."""
    val, var, first, is_den = _cell_arrays(st)
    den = val[first + _measure_no(st, lambda spec, m: spec.denominator)]
    base_k = _measure_no(st, lambda spec, m: spec.complement_of.get(m))
    base = np.where(base_k >= 0, val[first + np.maximum(base_k, 0)], 0)
    row_rule = (den >= 1) & (den < min_cohort)
    rest = base - val
    cell_rule = ~row_rule & ~is_den & (((val >= 1) & (val < min_count))
                                       | ((base_k >= 0) & (base > 0) & (rest >= 1) & (rest < min_count)))
    n = len(st.values)
    by_row = np.zeros(n, bool)
    by_row[var[row_rule]] = True
    by_cell = np.zeros(n, bool)
    by_cell[var[cell_rule]] = True
    return {v: ("primary cell" if c else "primary row") for v, c in
            zip(np.nonzero(by_row | by_cell)[0].tolist(), by_cell[by_row | by_cell].tolist())}


def _close_rows(st: Structure, hidden: dict[int, str]) -> None:
    """A row whose denominator is hidden is hidden whole (in place), until nothing changes."""
    _, var, first, is_den = _cell_arrays(st)
    den_var = var[first + _measure_no(st, lambda spec, m: spec.denominator)]   # per cell: its row's
    h = np.zeros(len(st.values), bool)
    h[list(hidden)] = True
    while True:
        hit = var[h[den_var] & ~h[var]]
        if not len(hit):
            return
        hit = np.unique(hit)
        h[hit] = True
        for w in hit.tolist():
            hidden[w] = "secondary (row)"


def audiences(st: Structure) -> dict[str, set[int]]:
    """Audience -> variables it knows without the published marts: directors nothing; each
    academy user all cells of its own academy rows (academy_own marts)."""
    return {k: set(v.tolist()) for k, v in _audience_arrays(st).items()}


def _audience_arrays(st: Structure) -> dict[str, np.ndarray]:
    """audiences(st) with each audience's variables as a sorted array (no Python int per cell)."""
    urn = st.cells["academy_urn"]
    own = urn.is_not_null().to_numpy()
    urn = urn.filter(own)
    names = urn.unique().sort()
    # per academy cell: its academy's place in URN order and its variable, sorted, once each
    code = urn.cast(pl.Enum(names)).to_physical().to_numpy().astype(np.int64)
    var = st.cells["var"].to_numpy().astype(np.int64)[own]
    order = np.lexsort((var, code))
    code, var = code[order], var[order]
    keep = np.ones(len(var), bool)
    keep[1:] = (code[1:] != code[:-1]) | (var[1:] != var[:-1])
    code, var = code[keep], var[keep]
    out: dict[str, np.ndarray] = {"director": np.empty(0, np.int64)}
    cut = np.searchsorted(code, np.arange(len(names) + 1))
    for i, u in enumerate(names.to_list()):
        out[f"academy {u}"] = var[cut[i]:cut[i + 1]]
    return {k: out[k] for k in sorted(out, key=lambda k: (k != "director", k))}


def _var_facts(st: Structure):
    """Per variable: value, is a row denominator, is a trust-level (or other non-academy) cell."""
    n = len(st.values)
    _, var, _, den = _cell_arrays(st)
    is_den = np.zeros(n, bool)
    is_den[var[den]] = True
    trustish = np.zeros(n, bool)
    trustish[var[st.cells["academy_urn"].is_null().to_numpy()]] = True
    n_whole = np.bincount(_arrays(st.relations)[0], minlength=n)
    return is_den.tolist(), trustish.tolist(), n_whole.tolist()


def suppress(st: Structure, min_cohort: int = MIN_COHORT, min_count: int = MIN_COUNT,
             max_rounds: int = 500, academies: list[str] | None = None, protect_zeros: bool = True,
             cache: dict | None = None, clock: _Clock | None = None, block_keys: dict | None = None,
             queue: "_Queue | None" = None, defer: bool = False, workers: int | None = None) -> Result:
    """Choose the hidden cells of every published mart: primary rules, then `protect`.
    `academies` limits the academy audiences (default: all). `cache` (block key -> decision,
    filled in place) lets a re-run skip every block whose inputs did not change; `block_keys`
    (filled in place) gets each block's key -> one of its variables; `queue`: the worker
    processes' _Queue for the large blocks (default: one started for this call only, of `workers`
    processes: see run). With
    `defer` (and a queue) it returns (finish, done) once the small blocks are done: finish(queue)
    is the Result, done() whether the workers have every large block back."""
    t0 = time.perf_counter()
    c0 = time.process_time()
    clock = clock or _Clock()
    with clock("primary rules"):
        hidden = primary_hidden(st, min_cohort, min_count)
        _close_rows(st, hidden)
    n_primary = len(hidden)
    with clock("facts and audiences"):
        is_den, trustish, _ = _var_facts(st)
        auds = _audience_arrays(st)
    if academies is not None:
        auds = {k: v for k, v in auds.items() if k == "director" or k in academies}
    ident = None
    if cache is not None:
        with clock("cache: cell names"):   # a variable's name: its first cell's
            _, first = np.unique(st.cells["var"].to_numpy(), return_index=True)
            ident = st.cells.select("mart", "row_key", "measure")[first]   # _BlockKeys joins them
            del first
    # protect gets the only reference to the names, and frees them once the block keys are made
    held = [ident]
    del ident
    job = protect(st.relations, st.values, hidden, auds, is_den, trustish, max_rounds, protect_zeros, cache=cache,
                  ident=held.pop(), clock=clock, block_keys=block_keys, queue=queue, defer=defer,
                  workers=workers)

    def finish(queue=None, text: bool = True) -> Result:
        """The Result; with text=False its cells keep the structure's Enum columns and reason as
        an Enum (no text made: `published` gives them as text, a slice at a time)."""
        stats, unresolved = job.finish(queue) if defer else job
        with clock("result frame"):
            names = sorted(set(hidden.values()))
            code = np.full(len(st.values), -1, np.int64)
            if hidden:
                code[np.fromiter(hidden.keys(), np.int64, len(hidden))] = [names.index(r) for r in hidden.values()]
            cell_code = pl.Series(code[st.cells["var"].to_numpy()])
            cells = st.cells.with_columns(
                hidden=pl.lit(cell_code >= 0),
                reason=pl.lit(cell_code.replace_strict(dict(enumerate(names)), default=None,
                                                       return_dtype=pl.Enum(names))),
            )
            del cell_code
            if text:
                cells = published(cells)
        stats["primary_vars"] = n_primary
        stats["hidden_vars"] = len(hidden)
        stats["cpu_seconds"] = time.process_time() - c0
        return Result(cells=cells, seconds=time.perf_counter() - t0, rounds=stats["nonneg_rounds"],
                      unresolved=unresolved, stats=stats, timing=clock.timing)
    if defer:   # (finish, whether the workers are done with it)
        return finish, job.done
    return finish()


def published(cells: pl.DataFrame) -> pl.DataFrame:
    """Result cells with the structure's Enum columns and reason as text, as published."""
    return text_cells(cells).with_columns(pl.col("reason").cast(pl.Utf8))


def protect(relations: list[tuple[int, tuple[int, ...]]], values: list[int], hidden: dict[int, str],
            auds: dict[str, set[int]], is_den: list[bool], trustish: list[bool],
            max_rounds: int = 500, protect_zeros: bool = True, cache: dict | None = None,
            ident: pl.DataFrame | pl.Series | list[str] | None = None, clock: _Clock | None = None,
            block_keys: dict | None = None, queue: "_Queue | None" = None, defer: bool = False,
            workers: int | None = None):
    """Secondary suppression in place on `hidden` (variable -> reason; primary cells in it on
    entry): per connected block a GaussSuppression pass for directors and every academy user
    (`auds`: audience -> variables it knows), then non-negativity repairs (a hidden zero the
    attack still pins gets one more non-zero cell hidden next to it, and the block is redone)
    until the attack recovers nothing. With protect_zeros=False a hidden zero may stay pinned
    (DfE practice: zeros are shown) and only non-zero cells are repaired and chosen.
    Returns (stats, unresolved blocks); with `defer`, the _Blocks whose finish(queue) returns
    them once the large blocks sent to `queue` are back (`hidden` is complete only then).
    `workers`: the processes of the queue started when none is given (see run)."""
    assert queue is not None or not defer
    clock = clock or _Clock()
    setup = clock("protect: setup")
    setup.__enter__()
    n = len(values)
    vals_a = np.asarray(values, np.int64)
    den_a, trust_a = np.asarray(is_den, bool), np.asarray(trustish, bool)
    wholes, lens, parts = _arrays(relations)
    n_whole = np.bincount(wholes, minlength=n).tolist()
    # publish order = the cost of hiding, most costly first: shown zeros, the trust's denominators
    # (its headline cohorts), other denominators, then large before small
    head = den_a & trust_a & (vals_a != 0)
    headline = set(np.nonzero(head)[0].tolist())
    order = np.lexsort((np.arange(n), -vals_a, ~den_a, ~head, vals_a != 0))
    pos = np.empty(n, np.int64)
    pos[order] = np.arange(n)
    block_of = _block_of(n, wholes, lens, parts)
    # the blocks worth a look: a relation and a hidden cell in them (else nothing can be revealed)
    h = np.zeros(n, bool)
    h[np.fromiter(hidden, np.int64, len(hidden))] = True
    live = np.zeros(int(block_of.max()) + 1 if n else 0, bool)
    live[block_of[wholes]] = True
    has_hidden = np.zeros_like(live)
    has_hidden[block_of[h]] = True
    live &= has_hidden
    members = _group(block_of, order[live[block_of[order]]])            # in publish order
    block_rels = _group(block_of[wholes], np.nonzero(live[block_of[wholes]])[0])
    # (members, block_rels, own_in_block: arrays, made lists one block at a time)
    own_in_block: dict[int, dict[str, np.ndarray]] = {}
    for name, known in auds.items():
        k = np.asarray(known, np.int64) if isinstance(known, np.ndarray) else np.fromiter(known, np.int64, len(known))
        k = k[live[block_of[k]]]
        for b, vs in _group(block_of, k[np.argsort(pos[k], kind="stable")]).items():
            own_in_block.setdefault(b, {})[name] = vs
    stats = {"blocks": 0, "academy_passes": 0, "checks": 0, "nonneg_rounds": 0, "nonneg_added": 0,
             "known_by_own": 0}
    todo: list[tuple[int, str | None]] = []
    setup.__exit__(None, None, None)
    keys = clock("cache: block keys and reuse")
    keys.__enter__()
    keyer = _BlockKeys(ident, values, hidden, is_den, trustish, wholes, lens, parts, (max_rounds, protect_zeros)) \
        if cache is not None else None
    del ident   # hashed: the names are not needed any more (~1 GB at national)
    for b in sorted(members):
        rels = block_rels[b]
        vs = members[b].tolist()
        stats["blocks"] += 1
        key = None
        if cache is not None:
            key = keyer.key(vs, rels, own_in_block.get(b, {}))
            if block_keys is not None:
                block_keys[key] = vs[0]
            got = cache.get(key)
            if got is not None and len(got[1]) == len(vs):
                # the decision by place in the block's publish order (the key holds the cells in it)
                stats["cached_blocks"] = stats.get("cached_blocks", 0) + 1
                reasons, codes = got
                for v, c in zip(vs, codes.tolist()):
                    if c:
                        hidden[v] = reasons[c - 1]
                    else:
                        hidden.pop(v, None)
                continue
        todo.append((b, key))
    keys.__exit__(None, None, None)

    job = _Blocks(todo, members, block_rels, own_in_block, relations, values, hidden, is_den, trustish, n_whole,
                  headline, max_rounds, protect_zeros, cache, stats, clock)
    own_queue = queue is None
    queue = queue or _Queue(_Workers(), workers)
    try:
        job.start(queue)
        return job if defer else job.finish(queue)
    finally:
        if own_queue and not defer:
            queue.close()


class _Blocks:
    """The blocks of one protect call still to compute: `start` queues the large ones for the
    worker processes (_Queue) and does the small ones here; `finish` waits for the large ones
    (doing here any the workers could not) and merges every decision into `hidden` in block
    order, so the result is the same whichever process did a block, and whenever."""

    def __init__(self, todo, members, block_rels, own_in_block, relations, values, hidden, is_den, trustish,
                 n_whole, headline, max_rounds, protect_zeros, cache, stats, clock) -> None:
        self.todo, self.members, self.block_rels, self.own_in_block = todo, members, block_rels, own_in_block
        self.relations, self.values, self.hidden, self.is_den, self.trustish = relations, values, hidden, is_den, trustish
        self.n_whole, self.headline, self.max_rounds, self.protect_zeros = n_whole, headline, max_rounds, protect_zeros
        self.cache, self.stats, self.clock = cache, stats, clock
        self.out: dict[int, tuple] = {}
        self.when: dict[int, tuple] = {}   # block -> (process, start, end, CPU seconds): bench_engine.py
        self.sent: set[int] = set()
        self.progress: _Progress | None = None   # the run's, counting blocks planned and done (start)

    def task(self, b: int, local: bool) -> tuple:
        vs, rels = self.members[b].tolist(), self.block_rels[b].tolist()
        own = {name: got.tolist() for name, got in self.own_in_block.get(b, {}).items()}
        hidden = self.hidden
        if local:   # in this process: the whole-structure lists and relations serve
            return (vs, self.relations, rels, self.values, {v: hidden[v] for v in vs if v in hidden}, own,
                    self.is_den, self.trustish, self.n_whole, self.headline, None, self.max_rounds,
                    self.protect_zeros)
        # to a worker: only this block's part of them (same variable and relation numbers)
        with self.clock("worker payloads"):
            return (vs, {i: self.relations[i] for i in rels}, rels, {v: self.values[v] for v in vs},
                    {v: hidden[v] for v in vs if v in hidden}, own, {v: self.is_den[v] for v in vs},
                    {v: self.trustish[v] for v in vs}, {v: self.n_whole[v] for v in vs},
                    self.headline.intersection(vs), None, self.max_rounds, self.protect_zeros)

    def here(self, b: int) -> None:
        _load_kernel(self.clock)   # at the first block here (after the large ones are sent)
        with self.clock("blocks here"):
            self.out[b], w = _timed_block(*self.task(b, True))
        self.when[b] = ("main",) + w[1:]
        if self.progress is not None:
            self.progress.done += 1

    def _got(self, b: int, result: tuple) -> None:
        self.out[b], self.when[b] = result
        if self.progress is not None:
            self.progress.done += 1

    def start(self, queue: "_Queue") -> None:
        self.progress = queue.progress
        if self.progress is not None:
            self.progress.planned += len(self.todo)
        big = [b for b, _ in self.todo if len(self.members[b]) >= POOL_FROM_VARS]
        if queue.usable(len(big)):
            for b in big:
                self.send(queue, b)
            queue.top_up()
        # the small blocks, here (smallest first) while the workers do the large ones; a worker
        # with nothing to do gets the largest small block left
        small = sorted((b for b, _ in self.todo if b not in self.sent), key=lambda b: (len(self.members[b]), b))
        lo, hi = 0, len(small)
        while lo < hi:
            queue.top_up()
            if queue.idle() and len(self.members[small[hi - 1]]) >= SEND_FROM_VARS:
                hi -= 1
                self.send(queue, small[hi])
                queue.top_up()
            else:
                self.here(small[lo])
                lo += 1
                queue.tick()

    def send(self, queue: "_Queue", b: int) -> None:
        if queue.procs.pool is None:   # workers not started yet: they load what this process compiles
            _load_kernel(self.clock)
        queue.add(len(self.members[b]), functools.partial(self.task, b, False), functools.partial(self._got, b))
        self.sent.add(b)

    def done(self) -> bool:
        return all(b in self.out for b in self.sent)

    def finish(self, queue: "_Queue | None" = None) -> tuple[dict, dict[str, int]]:
        if queue is not None:
            with self.clock("waiting for workers"):
                while not self.done() and queue.busy():
                    queue.wait()
        for b, _ in self.todo:   # what the workers could not do (failed, or none)
            if b not in self.out:
                self.here(b)
        _load_balance(self.clock.timing, self.when, self.members)
        stats, hidden, cache, unresolved = self.stats, self.hidden, self.cache, {}
        with self.clock("protect: merge"):
            for b, key in self.todo:   # merged in block order: the same result whichever process did a block
                vs = self.members[b].tolist()
                got, bstats, ok = self.out.pop(b)
                for v in vs:
                    if v in got:
                        hidden[v] = got[v]
                    else:
                        hidden.pop(v, None)
                for k, x in bstats.items():
                    stats[k] = stats.get(k, 0) + x
                if not ok:
                    unresolved[f"block {b}"] = 1
                if key is not None:
                    reasons = sorted({hidden[v] for v in vs if v in hidden})
                    code = {r: i + 1 for i, r in enumerate(reasons)}
                    cache[key] = (reasons, np.array([code.get(hidden.get(v), 0) for v in vs], np.uint8))
        return stats, unresolved


def _arrays(relations) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(wholes, part counts, parts) of relations (structure.Relations, or a list of tuples)."""
    r = relations if isinstance(relations, Relations) else Relations.of(relations)
    return r.wholes, r.lens, r.parts


def _block_of(n: int, wholes: np.ndarray, lens: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """gauss.blocks' block of every variable (relations as wholes, part counts, parts), by array
    work: blocks numbered by their smallest variable, a variable in no relation a block of its
    own."""
    roots = _components(n, np.repeat(wholes, lens), parts)
    return np.unique(roots, return_inverse=True)[1].astype(np.int64).reshape(-1)


def _group(key: np.ndarray, items: np.ndarray) -> dict[int, np.ndarray]:
    """{k: the items (in their order) whose key[item] is k}, as slices of one array."""
    if not len(items):
        return {}
    k = key[items]
    idx = np.argsort(k, kind="stable")
    k, items = k[idx], items[idx]
    cut = np.nonzero(np.diff(k))[0] + 1
    starts = np.concatenate(([0], cut))
    ends = np.concatenate((cut, [len(k)])).tolist()
    return {kb: items[a:e] for kb, a, e in zip(k[starts].tolist(), starts.tolist(), ends)}


POOL_FROM_VARS = 2000   # blocks this large go to worker processes (smaller ones cost less than sending)
SEND_FROM_VARS = 100    # a smaller block this large goes to a worker that would otherwise wait
# exact shortcuts (same hidden cells, proofs where they are taken): academy passes that provably
# hide nothing skipped, the directors' span reused after releasing only what zeros determine,
# academy passes stopped after their headline cells when the rest is not needed. False: every
# pass in full (the reference the tests compare with)
SHORTCUTS = True
ZERO_SPANS_FROM = 2000   # blocks this large keep their shown zeros' span between passes (kernel.ZeroSpans)


def workers() -> int:
    """Processes for the engine's blocks: env DESTINATIONS_DISCLOSURE_WORKERS, default the cores
    this process may use; 1 = everything in this process."""
    from pipelines.lib.cores import processes
    return processes("DESTINATIONS_DISCLOSURE_WORKERS")


class _Workers:
    """Worker processes, started on first use and kept until `close`: one engine.run keeps them
    for all its partitions (one suppress each). Workers start from a fresh interpreter
    (forkserver), never a fork of this one: the engine runs inside dbt, whose threads a fork
    would copy mid-flight."""

    def __init__(self) -> None:
        self.pool, self.n = None, 0

    def get(self, n: int):
        if self.pool is not None and self.n != n:
            self.close()
        if self.pool is None:
            from concurrent.futures import ProcessPoolExecutor

            from pipelines.lib.scratch import forkserver_context
            # its folder: a killed run's is removed by the next
            self.pool = ProcessPoolExecutor(n, mp_context=forkserver_context())
            self.n = n
        return self.pool

    def close(self) -> None:
        if self.pool is not None:
            pool, self.pool = self.pool, None
            pool.shutdown(wait=True, cancel_futures=True)


class _Queue:
    """Large blocks for the worker processes, of one or more protect calls (partitions): sent
    largest first of all waiting, each payload made only when it is sent, and at most n + 1 out
    at once (`top_up`, called between pieces of work here, sends more as workers finish): the
    payloads of the large blocks are never all in memory together. A block's result goes to its
    `done` callback. If the workers fail (e.g. a caller's main module that cannot be
    re-imported), the processes are closed, nothing more is sent, and busy() is False: the
    callers do their missing blocks here."""

    def __init__(self, procs: "_Workers", n: int | None = None) -> None:
        self.procs, self.n = procs, n if n is not None else workers()
        self.progress: _Progress | None = None   # the run's progress lines (set by _run_by_partition)
        self.waiting: list = []   # heap of (-size, order, make, done)
        self.out: dict = {}       # future -> done
        self.order, self.failed = 0, False

    def start(self, clock: _Clock) -> None:
        """Start one worker now (loading the kernel), beside what this process does next, not
        when the first block is sent: on a correction that block is the critical path. One: the
        others (started as blocks are sent) would only take cores from this process meanwhile.
        This process loads the kernel later, at its first block (_Blocks.here), after the large
        blocks are sent: not before the structure that the first large block waits for (on a
        machine's first run, without `make setup`, both processes then compile it once)."""
        if self.n < 2 or self.failed or self.procs.pool is not None:
            return
        try:
            self.procs.get(self.n).submit(_warm_kernel)
        except (BrokenProcessPool, OSError) as e:
            log.warning("disclosure engine: worker processes failed (%s); doing every block in this process", e)
            self.fail()

    def usable(self, blocks: int) -> bool:
        return blocks > 0 and self.n > 1 and not self.failed

    def add(self, size: int, make, done) -> None:
        heapq.heappush(self.waiting, (-size, self.order, make, done))
        self.order += 1

    def idle(self) -> bool:
        """Whether started workers have (or would soon have) nothing to do: fewer than n + 1 out, none waiting."""
        return self.procs.pool is not None and not self.failed and not self.waiting and len(self.out) < self.n + 1

    def busy(self) -> bool:
        return bool(self.out or self.waiting) and not self.failed

    def top_up(self) -> None:
        if self.failed or not (self.out or self.waiting):
            return
        try:
            for f in [f for f in self.out if f.done()]:
                self.out.pop(f)(f.result())
                if self.progress is not None:
                    self.progress.back(f)
            pool = self.procs.get(self.n) if self.waiting else None
            while self.waiting and len(self.out) < self.n + 1:
                size, _, make, done = heapq.heappop(self.waiting)
                # sent pickled: the executor keeps a payload until its result is back, and bytes
                # are a tenth of the dicts (the largest national block: ~1.7 M variables)
                passes = self.progress.slot() if self.progress is not None else None
                f = pool.submit(_timed_pickled, pickle.dumps(make(), pickle.HIGHEST_PROTOCOL), passes)
                self.out[f] = done
                if self.progress is not None:
                    self.progress.out[f] = (-size, self.progress.now(), passes)
        except (BrokenProcessPool, OSError) as e:
            log.warning("disclosure engine: worker processes failed (%s); doing every block in this process", e)
            self.fail()

    def wait(self) -> None:
        """Until a block sent comes back, or the run's next progress line is due (then top_up)."""
        from concurrent.futures import FIRST_COMPLETED, wait
        if self.out:
            wait(list(self.out), return_when=FIRST_COMPLETED,
                 timeout=None if self.progress is None else self.progress.wait())
        self.top_up()
        self.tick()

    def tick(self) -> None:
        if self.progress is not None:
            self.progress.tick()

    def fail(self) -> None:
        self.failed, self.waiting, self.out = True, [], {}
        self._forget_out()
        self.procs.close()

    def close(self) -> None:
        self.waiting, self.out = [], {}
        self._forget_out()
        self.procs.close()

    def _forget_out(self) -> None:
        if self.progress is not None:
            self.progress.close()


_kernel_loaded = False   # _warm_kernel done in this process


def _warm_kernel() -> None:
    """The compiled kernel loaded in this process (here, or a worker started early)."""
    global _kernel_loaded
    if gauss.KERNEL == "compiled" and not _kernel_loaded:
        from pipelines.lib.disclosure import intervals, kernel
        kernel.warm()
        intervals.warm()
        _kernel_loaded = True


def _load_kernel(clock: _Clock) -> None:
    """_warm_kernel here, timed as the step "kernel load" (the first time only)."""
    if gauss.KERNEL == "compiled" and not _kernel_loaded:
        with clock("kernel load"):
            _warm_kernel()


def _timed_pickled(payload: bytes, passes: tuple[str, int] | None = None) -> tuple:
    """A block in a worker; `passes` (_Progress.slot): where to count its passes for the run's progress lines."""
    args = pickle.loads(payload)
    large = len(args[0]) >= POOL_FROM_VARS
    if passes is None:
        got = _timed_block(*args)
    else:
        with _PassCounter(*passes) as count:
            got = _timed_block(*args, on_pass=count)
    del args
    if large:   # a worker is kept for the run: a large block's memory back to the system, not kept idle
        release_freed_memory()
    return got


@functools.cache
def _malloc_trim():
    import ctypes
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):   # not glibc
        return None


def release_freed_memory() -> None:
    """Memory freed so far given back to the system. glibc keeps freed heap pages (per thread
    arena: dbt runs the model in a thread) for reuse; measured at `large`, a structure and its
    protect setup left 230 MB of 1 GB resident after they were freed. No-op without glibc."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _timed_block(*args, on_pass=None) -> tuple:
    """_protect_block(*args), with (process id, start, end, CPU seconds) of the call."""
    w, c = time.time(), time.process_time()
    got = _protect_block(*args, on_pass=on_pass)
    return got, (f"pid {os.getpid()}", w, time.time(), time.process_time() - c)


def _load_balance(timing: dict, when: dict[int, tuple], members) -> None:
    """timing["processes"] (per process: blocks, variables, busy / CPU / idle seconds within
    the blocks' span: first start to last end) and timing["largest"] (the 12 largest blocks
    computed: size, process, start from the span's beginning, wall, CPU), added to what earlier
    calls of the same run (partitions) put there."""
    if not when:
        return
    procs: dict[str, dict] = timing.get("processes", {})
    t0 = timing["blocks_from"] = min([timing.get("blocks_from", float("inf"))] + [w[1] for w in when.values()])
    t1 = timing["blocks_to"] = max([timing.get("blocks_to", 0.0)] + [w[2] for w in when.values()])
    span = timing["blocks_seconds"] = t1 - t0
    timing.setdefault("when", []).extend(when.values())
    for b, (who, start, end, cpu) in when.items():
        p = procs.setdefault(who, {"blocks": 0, "vars": 0, "busy": 0.0, "cpu": 0.0})
        p["blocks"] += 1
        p["vars"] += len(members[b])
        p["busy"] += end - start
        p["cpu"] += cpu
    for p in procs.values():
        p["idle"] = max(0.0, span - p["busy"])
    timing["processes"] = dict(sorted(procs.items(), key=lambda kv: kv[0] != "main"))
    big = sorted(when, key=lambda b: -len(members[b]))[:12]
    timing["largest"] = sorted(timing.get("largest", []) + [
        (len(members[b]), when[b][0], when[b][1], when[b][2] - when[b][1], when[b][3]) for b in big],
        key=lambda t: -t[0])[:12]


def _protect_block(vs, relations, rels, values, hidden, own, is_den, trustish, n_whole, headline, rel_of,
                   max_rounds, protect_zeros, on_pass=None) -> tuple[dict[int, str], dict, bool]:
    """One block's secondary suppression (see protect): (hidden cells of the block -> reason,
    stats, converged). `on_pass(k)` is called as pass k starts (progress only). `relations` may hold only this block's relations (a dict by relation
    number), `values`, `is_den`, `trustish`, `n_whole` only its variables; `rel_of` (variable ->
    its relations) is built from `rels` when None.

    The directors' pass that follows an academy round which hid cells is not run when hidden
    zeros are pinned (it would be redone once they are released): it would hide and determine
    nothing.

    Claim: that pass hides nothing and determines nothing. Proof. The round starts after a
    directors' pass that left `determined` empty and no zero pinned (else they would have been
    released first), so no hidden cell is in span(S0), S0 the cells shown then. The round only
    hides cells, so the cells shown after it, S1, are within S0: a cell hidden before the round
    stays outside span(S1). A cell an academy pass hid has its row in that pass from the moment
    it is hidden, and the pass never lets a hidden row into its published span, which holds the
    cells shown after the pass (and the academy's own): so it is outside span(S1) too. The next
    directors' pass publishes cells of S1 only (shown zeros first, then the rest in order), so
    every span it builds lies in span(S1) and holds no hidden cell: it hides nothing, and
    determines nothing. So the zeros pinned after it are the zeros pinned before it, and when
    there are some, releasing them without the pass is what the pass and the release would do.
    (Checked against the pass itself in tests/disclosure/test_engine.py.)
    """
    if rel_of is None:
        rel_of = _RelationsOf(relations, rels)
    stats = {"academy_passes": 0, "checks": 0, "nonneg_rounds": 0, "nonneg_added": 0, "known_by_own": 0}
    iv = None
    if gauss.KERNEL == "compiled":   # the interval bounds compiled too (intervals.py; attack.py is the reference)
        from pipelines.lib.disclosure.intervals import BlockIntervals
        iv = BlockIntervals(relations, rels, vs, values)
    rank = {v: (-n_whole[v], not trustish[v], v) for v in vs}
    x = nullspace(vs, relations, rels, rank)
    unavoidable: dict[str, set[int]] = {}
    alone_done: set[str] = set()
    released: list[int] = []
    coords = {name: _own_coords(x, mine) for name, mine in own.items() if name != "director"}
    # each academy's own vectors, made (and for the kernel converted) once per block
    own_vecs = {name: x.pack_own(cs, own[name]) if getattr(x, "compiled", False) else
                [{c: 1} for c in sorted(cs)] if cs is not None else [x[v] for v in own[name]]
                for name, cs in coords.items()}
    checks = None
    if getattr(x, "compiled", False):   # the academies with own coordinates: checked in one call a round
        from pipelines.lib.disclosure.kernel import Checks
        names = [k for k in sorted(coords) if coords[k] is not None]
        checks = (names, Checks(x, [own_vecs[k] for k in names], [own[k] for k in names]))
    zs = None
    if SHORTCUTS and getattr(x, "compiled", False) and len(vs) >= ZERO_SPANS_FROM:
        # the shown zeros' span kept between passes (in a small block copying costs more)
        from pipelines.lib.disclosure.kernel import ZeroSpans
        zs = ZeroSpans(x)
    ok = False
    sp = None
    last_pass: dict = {}   # what _director_pass keeps between passes
    after_round = False   # the last step was an academy round that hid cells
    for k in range(max_rounds):
        if on_pass is not None:
            on_pass(k + 1)
        pinned = None
        if sp is None and SHORTCUTS and after_round:
            # the directors' pass after an academy round hides and determines nothing
            # (see the docstring): when zeros are pinned it would be redone once they are
            # released, so it is not run; when none are, it runs (its span is needed) and they
            # are not looked for again
            after_round = False
            pinned = _pinned_zeros(relations, values, rel_of, vs, hidden, iv)
            if pinned:
                _release(pinned, hidden, released, stats)
                stats["director_passes_skipped"] = stats.get("director_passes_skipped", 0) + 1
                continue
        # directors: a GaussSuppression pass over everything hidden so far
        if sp is None:
            sp = _director_pass(x, vs, values, hidden, zs, last_pass)
        # a hidden zero the published cells pin (a shown zero total, a whole used up by its
        # shown parts) is shown: hiding it protects nothing; shown, the next pass protects
        # whatever it pinned through it
        if pinned is None:
            pinned = _pinned_zeros(relations, values, rel_of, vs, hidden, iv)
        freed = sorted(sp.determined | set(pinned))
        if freed:
            _release(freed, hidden, released, stats)
            if SHORTCUTS and len(freed) == len(sp.determined):
                # only zeros the shown zeros determine: the next pass is this one (_director_pass)
                sp.determined = set()
                stats["director_passes_reused"] = stats.get("director_passes_reused", 0) + 1
            else:
                sp = None
            continue
        # academy users: a pass for each whose own cells expose a hidden cell. Nothing after the
        # round reads the directors' span (a round that hid cells, or a repair, is followed by a
        # new directors' pass; else the block is done): handed over, so the round can free it
        held, sp = [sp], None
        if _academy_round(x, vs, values, hidden, own, coords, own_vecs, held, stats, unavoidable,
                          headline=headline if protect_zeros else None, trustish=trustish,
                          released=set(released), checks=checks, zspans=zs):
            after_round = True
            continue
        # non-negativity for academy users: a hidden zero they pin with their own cells
        extra = _nonneg_repairs(relations, values, rel_of, vs, hidden, own, is_den,
                                unavoidable, alone_done, protect_zeros, set(released), headline, iv)
        if not extra:
            ok = True
            break
        stats["nonneg_rounds"] += 1
        stats["nonneg_added"] += len(extra)
        for v in extra:
            hidden[v] = "secondary (non-negativity)"
        sp = None
    stats["known_by_own"] += sum(len(u) for u in unavoidable.values())
    return hidden, stats, ok


class _RelationsOf(dict):
    """variable -> the block's relations holding it, built on first use: with the compiled
    interval bounds only a repair (a pinned cell) reads it, and most blocks have none."""

    def __init__(self, relations, rels) -> None:
        super().__init__()
        self._todo = (relations, rels)

    def _build(self) -> None:
        relations, rels = self._todo
        self._todo = None
        for i in rels:
            whole, parts = relations[i]
            self.setdefault(whole, []).append(i)
            for p in parts:
                self.setdefault(p, []).append(i)

    def get(self, v, default=None):
        if self._todo is not None:
            self._build()
        return super().get(v, default)

    def __getitem__(self, v):
        if self._todo is not None:
            self._build()
        return super().__getitem__(v)

    def __contains__(self, v) -> bool:
        if self._todo is not None:
            self._build()
        return super().__contains__(v)


@functools.lru_cache(maxsize=1)
def _engine_version() -> str:
    """A digest of the engine's code: a cached decision is only reused by the same engine. Not
    progress.py: the progress lines decide nothing, and a change to them recomputes nothing."""
    from pipelines.lib.disclosure import attack, gauss, intervals, kernel
    h = hashlib.sha256()
    for mod in (sys.modules[__name__], gauss, kernel, intervals, attack, sys.modules[Structure.__module__]):
        h.update(Path(mod.__file__).read_bytes())
    return h.hexdigest()[:16]


_M1, _M2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9)


def _mix(h: np.ndarray) -> np.ndarray:
    """A 64-bit finaliser (splitmix64), element-wise: spreads every input bit over the output."""
    with np.errstate(over="ignore"):
        h = (h ^ (h >> np.uint64(30))) * _M2
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


NAMES_CHUNK = 1 << 18   # variables whose names _BlockKeys makes at once


class _BlockKeys:
    """Block keys: a digest of everything one block's decision depends on, by cell name (not
    variable number, which shifts when rows elsewhere change): its cells in publish order with
    value, primary reason, denominator and trust flags; its relations (as a multiset, each an
    order-free digest of its whole and parts); who knows which cells; the engine and its
    parameters. Per-variable and per-relation digests (128 bits: two seeds) are made once for
    the whole structure by array work, so a block's key costs a few array copies."""

    def __init__(self, ident, values, hidden, is_den, trustish, wholes, lens, parts, params,
                 chunk: int = NAMES_CHUNK) -> None:
        """`ident`: each variable's name (mart|row_key|measure), or a frame of those three
        columns; the names are made and hashed `chunk` variables at a time (all at once they are
        ~1 GB at national), with the same digests."""
        n = len(values)
        self.state = np.empty((n, 2), np.uint64)
        self.ident = np.empty((n, 2), np.uint64)
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            names = _names(ident, a, b)
            state = pl.DataFrame({"ident": names, "value": values[a:b],
                                  "reason": [hidden.get(v) for v in range(a, b)], "den": is_den[a:b],
                                  "trust": trustish[a:b]},
                                 schema={"ident": pl.Utf8, "value": pl.Int64, "reason": pl.Utf8, "den": pl.Boolean,
                                         "trust": pl.Boolean})
            self.state[a:b] = np.stack([state.hash_rows(seed=s).to_numpy() for s in (11, 12)], axis=1)
            self.ident[a:b] = np.stack([names.hash(seed=s).to_numpy() for s in (13, 14)], axis=1)
            del names, state
        acc = np.zeros((len(wholes), 2), np.uint64)
        with np.errstate(over="ignore"):
            np.add.at(acc, np.repeat(np.arange(len(wholes)), lens), _mix(self.ident[parts]))
            self.rel = _mix(_mix(self.ident[wholes] ^ _M1) + acc)
        self.head = hashlib.sha256(repr((_engine_version(), params, pl.__version__)).encode()).digest()

    def key(self, vs: list[int], rels: list[int], own: dict[str, list[int]]) -> str:
        h = hashlib.sha256(self.head)
        h.update(self.state[vs].tobytes())
        r = self.rel[rels]
        h.update(r[np.lexsort((r[:, 1], r[:, 0]))].tobytes())
        for name in sorted(own):
            h.update(name.encode() + b"\0")
            h.update(self.ident[own[name]].tobytes())
        return h.hexdigest()


def _names(ident, a: int, b: int) -> pl.Series:
    """The names of variables a..b-1: from a frame of mart, row_key, measure, or a list of them."""
    if isinstance(ident, pl.DataFrame):
        return ident.slice(a, b - a).select(pl.concat_str("mart", "row_key", "measure", separator="|")).to_series()
    return pl.Series(ident[a:b], dtype=pl.Utf8)


def _own_coords(x, mine: list[int]) -> set[int] | None:
    """The free coordinates an academy's own cells span, when that span is exactly those
    coordinates (its own leaves are free variables and its own wholes sum only them, which
    build_structure's column order gives); None otherwise."""
    if getattr(x, "compiled", False):
        return x.own_coords(mine)
    coords = {v for v in mine if x[v] == {v: 1}}
    for v in mine:
        if not coords.issuperset(x[v]):
            return None
    return coords


def _pinned_zeros(relations, vals, rel_of, vs, hidden, iv=None) -> list[int]:
    """Hidden zeros of the block the published cells pin (interval attack as a director)."""
    H = {v for v in vs if v in hidden}
    if not any(vals[v] == 0 for v in H):
        return []
    return sorted(v for v in _pinned(relations, vals, H, rel_of, iv=iv) if vals[v] == 0)


def _release(freed: list[int], hidden: dict[int, str], released: list[int], stats) -> None:
    for v in freed:
        del hidden[v]
    released.extend(freed)
    stats["released_zeros"] = stats.get("released_zeros", 0) + len(freed)


def _director_pass(x, vs: list[int], vals: list[int], hidden: dict[int, str], zs=None, last: dict | None = None):
    """GaussSuppression pass for directors (in place on `hidden`): every shown zero published
    first (a hidden cell they determine is a zero anyone can work out: it is released, not
    protected by hiding zeros), everything hidden forced hidden, then every other cell in
    publish order. Returns the published span (`determined`: the hidden zeros to release).

    After releasing exactly `determined`, the next pass would give this span again and hide
    nothing, so _protect_block reuses it. Proof: a released zero is in the span of the shown
    zeros, so the forced cells span what they spanned; a cell n this pass hid is now forced
    hidden from the start, but at its turn x_n was outside the span published before it, so no
    earlier candidate's publication can determine it; by induction every other candidate is
    published (or already in the span) as before, and no hidden cell is determined by zeros.

    With `zs` (kernel.ZeroSpans: the kept span of the shown zeros), the span of every shown cell
    S is built first and the hidden cells reduced by it. A hidden cell outside span(S) is never
    determined and never the reason for a hide (the pass publishes only cells of S): so when none
    is inside, that span is the pass's (it hides and determines nothing), and otherwise the pass
    runs with rows for the hidden cells inside only, the others added (reduced) at its end: the
    same span and hidden rows, without reducing ~10k rows at every publish.

    `last` (with `zs`: kept by the caller between passes) holds the hidden cells at the last pass
    and a superset of those then in span(S). When no hidden cell has been shown since (S only
    shrank), that superset plus the cells hidden since holds every hidden cell now in span(S),
    and the pass runs with rows for those, without building span(S) first. Proof: a cell hidden
    then and in span(S) now was in the larger span(S) then; any other is one hidden since. Rows
    for cells outside span(S) decide nothing (above), so the result is the same."""
    H = {v for v in vs if v in hidden}
    zeros = [v for v in vs if v not in H and vals[v] == 0]
    zset = set(zeros)
    cands = [v for v in vs if v not in H and v not in zset]
    if zs is not None:
        before = last.get("hidden") if last is not None else None
        if before is not None and before <= H:
            inside = (last["inside"] & H) | (H - before)
        else:
            sp = zs.start(zeros, H, cands)
            inside = sp.determined
            if not inside:
                if last is not None:
                    last.update(hidden=H, inside=inside)
                return sp
            sp = None   # its store freed before the next is made
        if last is not None:
            last.update(hidden=H, inside=inside)
        sp = zs.start(zeros, inside)
        newly = go_on(sp, x, cands, inside)
        sp.hide(H - inside)
    else:
        newly, sp = gauss_pass(x, cands, H, zeros)
    assert not any(vals[v] for v in sp.determined), "only zeros can be determined by zeros"
    for v in newly:
        hidden[v] = "secondary"
    return sp


def _academy_round(x, vs: list[int], vals: list[int], hidden: dict[int, str], own: dict[str, list[int]], coords,
                   own_vecs_of, held: list, stats, unavoidable: dict[str, set[int]], headline: set[int] | None = None,
                   trustish: list[bool] | None = None, released: set[int] = frozenset(), checks=None,
                   zspans=None) -> bool:
    """Each academy is checked against the directors' published span `sp` (does adding its own
    cells determine a hidden cell?); only where it does, an academy pass runs: its own cells'
    span taken out (projected away when it is a set of free coordinates, else forced shown),
    shown zeros published first, everything hidden so far forced hidden. An academy pass cannot
    expose anything to directors (they see less than the academy). True if anything was hidden
    (the caller redoes the director pass, then the checks: a cell hidden for one academy may be
    exposed to another). `unavoidable` collects, per academy, hidden cells its own cells (and
    shown zeros) alone determine.

    `headline` (the trust's non-zero denominators; None: zeros are never hidden) are the most
    costly cells to hide. When a pass would hide one, it is redone with the shown zeros as
    candidates between the headline cells and the rest: a zero is then hidden instead where that
    is enough. Example: the trust's one excluded pupil is in academy X, every other academy shows
    excluded 0, so X knows the trust's excluded; with the trust's neet_denominator hidden (for
    directors), its cohort would determine it for X and be hidden, blanking the trust's headline
    row, unless one other academy's excluded 0 is hidden too. A zero released in this block
    (pinned for directors) stays shown: hiding it again would only be released again.

    Passes are run in pieces (gauss.go_on), only as far as their result is used: a pass's
    decisions on its first k candidates do not depend on the later ones, and the headline cells
    lead both orders (publish order; the redo's), so after them each pass has hidden every
    headline cell it will. The redo is compared there; the first pass goes on only if the redo
    is not better, the redo only if it is. A pass that provably hides nothing is not run at all
    (_hides_nothing). `checks` (names, kernel.Checks): the academies whose check (against `sp`
    alone: it does not change in a round) is made for all of them in one compiled call. `zspans`
    (kernel.ZeroSpans): a pass's first part (shown zeros and own cells published) starts from the
    kept span of the shown zeros (own cells add nothing to it once projected away, and are
    published after it otherwise). `held` = [sp]: the caller hands the span over, and it is freed
    once every check is made (one large store less while the passes run)."""
    H = {v for v in vs if v in hidden}
    H0 = frozenset(H)      # H only grows in a round
    spans: dict = {"zs": zspans}   # spans of the shown cells and of the shown zeros, built when first needed
    changed = False
    pre = {}
    sp = held.pop()
    if checks is not None:
        from pipelines.lib.disclosure.kernel import k_exposed_each
        pre = dict(zip(checks[0], k_exposed_each(sp, x, checks[1])))
        if all(name in pre for name in own if name != "director"):
            sp = None   # every check made
    for name in sorted(own):
        if name == "director":
            continue
        stats["checks"] += 1
        got = pre.get(name)
        if got is not None and not len(got):
            continue
        mine = own[name]
        mine_set = set(mine)
        cs = coords[name]
        own_vecs = own_vecs_of[name]
        if got is not None:
            exposed = set(got.tolist())
        elif cs is not None:
            exposed = exposed_by(sp, [], x, own_vecs)
        else:
            exposed = exposed_by(sp, [v for v in mine if v in H], x)
        exposed -= mine_set
        exposed_all = set(exposed)
        exposed -= unavoidable.get(name, set())
        if not exposed:
            continue
        stats["academy_passes"] += 1
        if SHORTCUTS and _hides_nothing(x, vs, vals, H, H0, mine_set, own_vecs, exposed_all, spans, stats,
                                        unavoidable, name):
            continue
        cands = [v for v in vs if v not in H and v not in mine_set and vals[v]]
        zeros = [v for v in vs if v not in H and v not in mine_set and not vals[v]]
        if cs is not None:
            xa = project(x, cs, vs)
            known = []
        else:
            xa, known = x, mine
        fh = H - mine_set
        # rows for the hidden cells the pass can determine only (E of _hides_nothing): a cell
        # outside span(shown cells + own cells) stays outside every span the pass publishes, so
        # its row never decides anything; with ~10k hidden cells in a block and a handful in E,
        # this is most of a pass's work
        got = spans.get("exposed")
        if SHORTCUTS and got is not None and got[:2] == (name, len(H)):
            fh = got[2]
        redo = bool(headline and zeros)
        first = [v for v in cands if v in headline] if redo else []
        # the headline cells lead the candidates (publish order), so the pass has hidden every
        # headline cell it will once it is past them: only then is the rest of it needed
        lead = len(first) if SHORTCUTS and cands[:len(first)] == first else len(cands)
        asp = asp2 = asp3 = None   # the last academy's stores freed before this one's are made
        if zspans is not None:
            allz = [v for v in vs if v not in H and not vals[v]]
            asp = zspans.start(allz, fh, known, xa, cs)
        else:
            asp = start_pass(xa, fh, zeros + known)
        newly = go_on(asp, xa, cands[:lead], fh)
        determined = asp.determined
        if redo and headline.intersection(newly):
            # a zero hidden is cheaper than a headline cell: redo with zeros as candidates after
            # the headline cells (trust zeros first: the last zero completing a chain is hidden)
            zs = sorted((z for z in zeros if z not in released), key=lambda v: (not trustish[v], v)) \
                if trustish else [z for z in zeros if z not in released]
            rest = [v for v in cands if v not in headline]
            asp2 = start_pass(xa, fh, [z for z in zeros if z in released] + known)
            newly2 = go_on(asp2, xa, first, fh)   # its headline hides, all of them
            if len(headline.intersection(newly2)) < len(headline.intersection(newly)):
                stats["headline_kept"] = stats.get("headline_kept", 0) + 1
                newly = newly2 + go_on(asp2, xa, zs + rest, fh)   # the first pass is not needed further
                hid = set(newly)
                # what own cells and the zeros still shown alone determine (own cells projected
                # away or published: their span added, as in _hides_nothing)
                if zspans is not None:
                    asp = None   # its store freed first
                    determined = in_span_with(zspans.span([z for z in allz if z not in hid]), own_vecs, fh | hid, x)
                else:
                    _, asp3 = gauss_pass(xa, [], fh | hid, [z for z in zeros if z not in hid] + known)
                    determined = asp3.determined
            else:
                newly += go_on(asp, xa, cands[lead:], fh)
        else:
            newly += go_on(asp, xa, cands[lead:], fh)
        unavoidable.setdefault(name, set()).update(determined - mine_set)
        for v in newly:
            hidden[v] = "secondary"
            H.add(v)
        changed = changed or bool(newly)
    return changed


def _hides_nothing(x, vs, vals, H, H0, mine_set, own_vecs, exposed_all, spans, stats, unavoidable, name) -> bool:
    """True (and `unavoidable[name]` updated as the pass would) when the academy pass of
    _academy_round provably hides nothing: then it need not run.

    Proof. The pass publishes the shown zeros Z and the own cells (`own_vecs`; projecting their
    free coordinates away is publishing them) first, then the other shown cells in order; it
    hides a cell only where publishing it would put a hidden cell h (of H less own cells) in the
    published span, and its `determined` are the h that span(Z + own) already holds. Let S be
    all shown cells and E the h in span(S + own). If the pass hides something, its first hide
    puts some h not in `determined` into a span within span(S + own): h is in E, not in
    `determined`. If it hides nothing, it publishes all of S, so every h it has not determined
    stays outside span(S + own). So it hides nothing exactly when E is within `determined`, and
    as `determined` is within E (Z is within S), exactly when every h of E is in span(Z + own);
    then `determined` = E.
    E: at the round's start the directors' span `sp` is span(S) with the cells H0 hidden (no
    zero was released this round), so E is `exposed_all`. Once another academy hid cells this
    round, S has shrunk: a cell of H0 in E is still in `exposed_all`, so E is found among
    `exposed_all` and the cells hidden since, against a span of the cells shown now. Both spans
    (shown cells, shown zeros) are built when first needed (from the kept span of the shown zeros,
    `spans["zs"]`, if any) and kept while H does not change."""
    zs = spans.get("zs")
    if len(H) == len(H0):
        E = exposed_all
    else:
        if spans.get("shown", (None,))[0] != len(H):   # H only grows: its size names it
            spans.pop("shown", None)   # its store freed before the next is made
            shown = [v for v in vs if v not in H]
            spans["shown"] = (len(H), span_of(x, shown) if zs is None else
                              zs.start([v for v in shown if not vals[v]], (), [v for v in shown if vals[v]]))
        E = in_span_with(spans["shown"][1], own_vecs, exposed_all | (H - H0 - mine_set), x)
    n_zeros = sum(1 for v in H - H0 if not vals[v])
    if spans.get("zeros", (None,))[0] != n_zeros:
        spans.pop("zeros", None)
        zeros = [v for v in vs if v not in H and not vals[v]]
        spans["zeros"] = (n_zeros, zs.span(zeros) if zs is not None else span_of(x, zeros))
    spans["exposed"] = (name, len(H), E)   # the only hidden cells the pass can determine
    determined = in_span_with(spans["zeros"][1], own_vecs, E, x)
    if determined != E:
        return False
    stats["academy_passes_skipped"] = stats.get("academy_passes_skipped", 0) + 1
    unavoidable.setdefault(name, set()).update(determined)
    return True


def _nonneg_repairs(relations, vals: list[int], rel_of, vs: list[int], hidden: dict[int, str],
                    own: dict[str, list[int]], is_den: list[bool], unavoidable: dict[str, set[int]],
                    alone_done: set[str], protect_zeros: bool = True, released: set[int] = frozenset(),
                    headline: set[int] = frozenset(), iv=None) -> list[int]:
    """For every hidden cell the full attack (with non-negativity) still pins, one more shown
    cell to hide: the smallest non-zero shown cell of a relation around it (not a denominator
    if avoidable, a trust denominator (`headline`) last; a zero, the relation's whole first,
    only if nothing else is there). Empty when the attack recovers nothing in this block.
    Once no cell is linearly determined, only a pinned hidden zero lets the attack pin anything
    (a point of the feasible set with every hidden cell > 0 could be moved along any free
    direction), so audiences with no hidden zero among what they do not know are skipped."""
    H = {v for v in vs if v in hidden}
    zeros = {v for v in H if vals[v] == 0}
    extra: set[int] = set()
    touched: set[int] = set()   # relations around cells picked this round
    base = None
    h_mask = iv.mask(H) if iv is not None else None
    for name in sorted(k for k in own if k != "director"):   # directors: released before
        known = set(own.get(name, ()))
        if zeros <= known:   # (a size test first: no pass over the block's hidden cells per academy)
            continue
        if base is None:
            # the directors' fixpoint, once
            base = iv.bounds(h_mask) if iv is not None else bounds(relations, vals, H, rel_of)
        if iv is not None:   # H - known as a mask: what the academy touches, not the block, per academy
            got = iv.pinned(h_mask & ~iv.mask(known), base, iv.mask(H & known))
        else:
            got = _pinned(relations, vals, H - known, rel_of, base, H & known, iv)
        if got and name != "director" and name not in alone_done:
            # what its own cells alone pin (everything else unknown) is not a disclosure
            alone_done.add(name)
            unavoidable.setdefault(name, set()).update(_pinned(relations, vals, set(vs) - known, rel_of,
                                                               newly_known=known, iv=iv))
        for v in sorted(set(got) - unavoidable.get(name, set())):
            if not protect_zeros and vals[v] == 0:
                continue
            if touched.intersection(rel_of.get(v, ())):
                continue   # a cell hidden next to it this round may already free it
            best = None
            for ri in rel_of.get(v, ()):
                whole, parts = relations[ri]
                for m in (whole,) + parts:
                    if (m in H or m in known or m in extra or m in released
                            or (not protect_zeros and vals[m] == 0)):
                        # (a released zero is pinned for everyone: hiding it again frees nothing)
                        continue
                    # a zero only when the relation has nothing else (a shown zero whole pins
                    # every hidden part of it to zero), and then its whole first
                    cand = (vals[m] == 0, m in headline, is_den[m], vals[m], m != whole, m)
                    if best is None or cand < best:
                        best = cand
            if best is not None:
                extra.add(best[-1])
                touched.update(rel_of.get(best[-1], ()))
    return sorted(extra)


def _pinned(relations, vals: list[int], unknown: set[int], rel_of, base=None, newly_known=None,
            iv=None) -> set[int]:
    """Unknown cells pinned by interval propagation with non-negativity (the attack's first
    step; `base`, `newly_known`: see attack.bounds). With no cell linearly determined, the attack
    pins something only if this does: its sign rule is the interval rule on one relation, and
    its linear step finds nothing until an interval pins a cell. `iv` (intervals.BlockIntervals):
    the same rules compiled (then `base` is its bounds)."""
    if iv is not None:
        return iv.pinned(iv.mask(unknown), base, None if newly_known is None else iv.mask(newly_known))
    lo, hi = bounds(relations, vals, unknown, rel_of, base, newly_known)
    return {v for v in unknown if lo[v] == hi[v]}


def run(frames: dict, min_cohort: int = MIN_COHORT, min_count: int = MIN_COUNT,
        protect_zeros: bool = True, cache_path: str | Path | None = None, by_partition: bool = False,
        written: dict[str, str] | None = None, on_partition=None, workers: int | None = None,
        on_progress=None) -> Result:
    """Structure + suppression for the unpublished marts in `frames` (name -> rows).
    `cache_path`: a file of per-block decisions (BlockCache); a re-run recomputes only blocks
    whose cells, values, relations, audiences, thresholds or engine code changed, and gives the
    same result as a run without it. With `by_partition` (and a cache) the cache also keeps each
    partition's result (structure.MartSpec.partition: no relation crosses one) under a digest of
    its rows, and a re-run builds the structure of the changed partitions only; the result then
    has the output columns only (mart, row_key, measure, measure_order, value, hidden, reason).
    `written` (with by_partition: partition label -> digest of the cells a table already holds)
    makes the result incremental: it holds only the partitions whose digest differs from the
    table's (or that the table lacks), with two more columns, partition_label and
    partition_digest; stats["partitions_dropped"] lists the table's labels no longer present.
    `on_partition` (with by_partition): called as on_partition(label, digest, cells) with each
    partition's rows of the result (the output columns; label and digest are the two partition
    columns of all of them) as soon as they are known, instead of gathering them: the result's
    cells are then empty, and no more than one partition's cells is held. A partition of more than
    STORE_SLICE_CELLS cells comes in several calls, one after another (one call if it is empty).
    `workers`: processes for the large blocks (1: all in this process; default engine.workers()).
    `on_progress` (with by_partition): called with lines of text saying how far the run has got
    (_Progress: each partition started and done, and every PROGRESS_EVERY s in between)."""
    t0 = time.perf_counter()
    clock = _Clock()
    cache = None
    if cache_path is not None:
        with clock("cache: open"):
            cache = BlockCache(Path(cache_path))
    try:
        if by_partition and cache is not None:
            res = _run_by_partition(frames, min_cohort, min_count, protect_zeros, cache, clock, written, on_partition,
                                    workers, _Progress(on_progress) if on_progress is not None else None)
        else:
            c0 = time.process_time()
            with clock("structure"):
                st = build_structure(frames)
            structure_cpu = time.process_time() - c0
            res = suppress(st, min_cohort, min_count, protect_zeros=protect_zeros, cache=cache, clock=clock,
                           workers=workers)
            res.stats["structure_cpu_seconds"] = structure_cpu
        if cache is not None:
            with clock("cache: write"):
                cache.save()
    finally:
        if cache is not None:
            cache.close()
    res.seconds = time.perf_counter() - t0
    return res


@contextlib.contextmanager
def duckdb_memory_limit(con, during: str, after: str):
    """DuckDB's memory_limit at `during` for the block, then `after` (also when the block fails).
    DuckDB keeps what earlier queries read (and temporary tables) in memory up to its limit and
    gives the rest back at once when the limit is lowered; above it, it spills to its temp folder.
    If DuckDB cannot free enough for `during` (pinned by a query beside), the limit stays as it is."""
    try:
        con.execute(f"set memory_limit = '{during}'")
    except Exception as e:   # noqa: BLE001 - duckdb.Error; the run goes on at the limit it had
        log.warning("DuckDB memory_limit not lowered to %s for the disclosure engine (%s)", during, e)
    try:
        yield
    finally:
        con.execute(f"set memory_limit = '{after}'")


OUTPUT_SCHEMA = {"mart": pl.Utf8, "row_key": pl.Utf8, "measure": pl.Utf8, "measure_order": pl.Int32,
                 "value": pl.Int64, "hidden": pl.Boolean, "reason": pl.Utf8}
OUTPUT_COLUMNS = tuple(OUTPUT_SCHEMA)


@dataclass
class _Pending:
    """Partitions built together (_run_by_partition) whose large blocks may still be out."""
    batch: list[str]
    n_cells: int
    fin: object
    done: object
    keys: dict
    st: object
    name: str = ""       # in the progress lines (_Progress.partition)
    since: float = 0.0   # when its structure started (_Progress.now)

    def take(self) -> tuple:
        """(batch, n_cells, fin, keys, st), no longer held here: freed once the caller lets go."""
        got = (self.batch, self.n_cells, self.fin, self.keys, self.st)
        self.fin = self.done = self.keys = self.st = None
        return got


def _run_by_partition(frames: dict, min_cohort: int, min_count: int, protect_zeros: bool, cache: "BlockCache",
                      clock: _Clock, written: dict[str, str] | None = None, on_partition=None,
                      workers: int | None = None, progress: _Progress | None = None) -> Result:
    """run() over the partitions whose rows changed; the others' cells come from the cache
    (with `written`, only those the table does not hold already: see run). A changed partition
    is built, suppressed and stored before the next is built (no block crosses a partition, so
    its decisions are those of one structure of them all), so the memory of the structure and
    the blocks is that of the largest partition, not of all of them; the result's rows are in
    partition order."""
    from pipelines.lib.disclosure.structure import check_partitions, partition_labels, structure_columns
    check_partitions()

    def step(what: str | None) -> None:   # what the progress lines say is being done (_Progress.step)
        if progress is not None:
            progress.step(what)
    step("finding the partitions that changed")
    present = [m for m in MART_BY_NAME.values() if m.name in frames]
    with clock("partitions: digests"):
        # only what the structure reads: digested, and all build_structure is given
        frames = {m.name: _as_polars(frames[m.name]) for m in present}
        frames = {m.name: frames[m.name].select([c for c in frames[m.name].columns if c in wanted])
                  for m in present for wanted in [set(structure_columns(m))]}
        labels = {m.name: partition_labels(m, frames[m.name]) for m in present}
        head = repr(("partition v1", _engine_version(), min_cohort, min_count, protect_zeros, pl.__version__))
        digests, expected = _partition_digests(present, frames, labels, head)
    # partitions the table already holds as they are now: checked in the cache, not loaded
    held = {label for label, d in (written or {}).items() if digests.get(label) == d}
    schema = OUTPUT_SCHEMA | {"partition_label": pl.Utf8, "partition_digest": pl.Utf8}
    kept: list[pl.DataFrame] = []

    def emit(label: str, cells: pl.DataFrame) -> None:   # a partition's rows of the result (Enum columns)
        if on_partition is not None:   # the two constant columns are the sink's to add
            # in slices, each made text only when given: a partition's cells are never all text at once
            for start in range(0, max(cells.height, 1), STORE_SLICE_CELLS):
                on_partition(label, digests[label], published(cells.slice(start, STORE_SLICE_CELLS)
                                                              .select(OUTPUT_COLUMNS)))
            return
        cells = published(cells).with_columns(partition_label=pl.lit(label), partition_digest=pl.lit(digests[label]))
        kept.append(cells.select(list(schema)))

    with clock("partitions: reuse"):
        _, reused = cache.reuse_partitions(digests, expected, load=set(digests) - held, emit=emit)
    # largest first: the partitions likeliest to hold the longest blocks start them soonest
    changed = sorted(set(digests) - set(reused), key=lambda label: (-expected.get(label, 0), label))
    stats: dict = {"partitions": len(digests), "partitions_reused": len(reused)}
    if written is not None:
        stats["partitions_held"] = len(held.intersection(reused))
        stats["partitions_dropped"] = sorted(set(written) - set(digests))
    unresolved: dict[str, int] = {}
    rounds = 0
    # started by the first partition with a large block, kept for the others; a partition's
    # large blocks are still out while the next partitions are built and their small blocks done
    queue = _Queue(_Workers(), workers)
    queue.progress = progress
    pending: list[_Pending] = []
    if progress is not None:
        progress.say(f"disclosure engine: {len(digests)} partition{'s' if len(digests) != 1 else ''}, "
                     f"{len(changed)} to compute "
                     f"({sum(expected.get(label, 0) for label in changed):,} cells)"
                     + (f", {len(reused)} unchanged (cells kept)" if reused else ""))
    if changed and expected.get(changed[0], 0) >= POOL_FROM_VARS:   # a partition that may hold a large block
        queue.start(clock)

    def finish(entry: _Pending) -> None:
        nonlocal rounds, unresolved
        batch, n_cells, fin, keys, st = entry.take()   # freed (with fin) before its cells are stored
        step(f"{entry.name} waiting for its blocks")
        res = fin(queue, text=False)   # text made a slice at a time by emit
        key_label = None
        if len(batch) > 1:   # each block key to its partition (no block crosses one)
            pv = st.cells.select("var", "partition_label").unique("var")
            label_of = np.empty(len(st.values), object)
            label_of[pv["var"].to_numpy()] = pv["partition_label"].to_numpy()
            key_label = {k: label_of[v] for k, v in keys.items()}
        del st, fin
        if n_cells >= BATCH_CELLS:   # cycles of a large structure freed now (0.1 s a call)
            gc.collect()
        release_freed_memory()
        stats_of = res.stats
        for k, v in res.stats.items():
            stats[k] = stats.get(k, 0) + v
        unresolved |= {f"{'+'.join(batch)}: {k}": v for k, v in res.unresolved.items()}
        rounds += res.rounds
        step(f"{entry.name} storing its cells")
        with clock("partitions: store"):
            new = res.cells.select(*OUTPUT_COLUMNS, "partition_label")
            del res
            got = set(new["partition_label"].unique().to_list())
            assert got <= set(batch), f"cells of partitions {sorted(got - set(batch))[:3]} were not asked for"
            n_hidden = int(new["hidden"].sum()) if progress is not None else 0
            for label in batch:
                part = new.filter(pl.col("partition_label").cast(pl.Utf8) == label).drop("partition_label") \
                    if len(batch) > 1 else new.drop("partition_label")
                cache.store_partition(label, digests[label], part,
                                      [k for k in keys if key_label is None or key_label[k] == label])
                # a partition recomputed with the digest the table holds has the same cells: kept there
                if label not in held:
                    emit(label, part)
                del part
            del new
        release_freed_memory()
        if progress is not None:
            cached = stats_of.get("cached_blocks", 0)
            progress.say(f"disclosure engine: {entry.name} done in {progress.now() - entry.since:.1f}s: "
                         f"{n_cells:,} cells ({n_hidden:,} hidden), {stats_of.get('blocks', 0):,} blocks"
                         + (f" ({cached:,} from the cache)" if cached else ""))
        step(None)

    def finish_done(room: int) -> None:
        """Finish the pending partitions whose blocks are all back, and (oldest first) as many
        more as leave at most `room` cells pending."""
        for p in [p for p in pending if p.done()]:
            pending.remove(p)
            finish(p)
        while pending and sum(p.n_cells for p in pending) > room:
            finish(pending.pop(0))

    try:
        first = 1
        for batch in _batches(changed, expected):   # at most PIPELINE_CELLS of other structures held beside one
            n_batch = sum(expected.get(label, 0) for label in batch)
            finish_done(max(0, PIPELINE_CELLS - n_batch))
            name, since = "", 0.0
            if progress is not None:
                name, since = progress.partition(batch, first, len(changed)), progress.now()
                progress.say(f"disclosure engine: {name} started: {n_batch:,} cells")
            first += len(batch)
            step(f"{name} building its structure")
            with clock("structure"):
                st = build_structure({m.name: frames[m.name].filter(labels[m.name].is_in(batch)) for m in present})
            keys: dict[str, int] = {}
            step(f"{name} choosing its hidden cells")
            fin, done = suppress(st, min_cohort, min_count, protect_zeros=protect_zeros, cache=cache, clock=clock,
                                 block_keys=keys, queue=queue, defer=True)
            pending.append(_Pending(batch, st.cells.height, fin, done, keys, st, name, since))
            step(None)
            queue.tick()
            del st, fin, done
            release_freed_memory()   # what building the structure and the protect setup freed
        finish_done(0)
    finally:
        queue.close()
        if progress is not None:
            progress.stop()
    kept.sort(key=lambda f: f["partition_label"][0] if f.height else "")   # in partition order
    cells = pl.concat(kept, how="vertical") if kept else pl.DataFrame(schema=schema)
    if written is None:
        cells = cells.select(OUTPUT_COLUMNS)
    return Result(cells=cells, seconds=0.0, rounds=rounds, unresolved=unresolved, stats=stats, timing=clock.timing)


STORE_SLICE_CELLS = 500_000   # a partition's cells are given to on_partition in slices of this many
PIPELINE_CELLS = 1_000_000   # cells of partitions whose large blocks are still out, held beside the one being built
BATCH_CELLS = 200_000   # changed partitions smaller than this are built and suppressed together


def _batches(labels: list[str], cells: dict[str, int]) -> list[list[str]]:
    """`labels` (in order) in runs whose cells add up to at most BATCH_CELLS (a larger partition
    alone). No block crosses a partition, so a batch's decisions are those of each partition
    alone; batching saves the per-structure work of many small partitions (FSQ groups)."""
    out: list[list[str]] = []
    total = 0
    for label in labels:
        n = cells.get(label, 0)
        if out and total + n <= BATCH_CELLS:
            out[-1].append(label)
            total += n
        else:
            out.append([label])
            total = n
    return out


def _partition_digests(present, frames: dict[str, pl.DataFrame], labels: dict[str, pl.Series], head: str
                       ) -> tuple[dict[str, str], dict[str, int]]:
    """Per partition label: a digest (SHA-256) of every row of every mart in it (all columns,
    as a multiset: two 64-bit row hashes, sorted), and the number of cells it has."""
    hashers: dict[str, "hashlib._Hash"] = {}
    expected: dict[str, int] = {}
    for spec in present:
        f = frames[spec.name]
        schema = repr([(c, str(t)) for c, t in f.schema.items()]).encode()
        h = pl.DataFrame({"label": labels[spec.name], "a": f.hash_rows(seed=21), "b": f.hash_rows(seed=22)})
        for (label,), g in h.sort("label", "a", "b").partition_by("label", as_dict=True, maintain_order=True).items():
            d = hashers.get(label)
            if d is None:
                d = hashers[label] = hashlib.sha256(head.encode())
            d.update(spec.name.encode() + b"\0" + schema + b"\0")
            d.update(np.ascontiguousarray(g.select("a", "b").to_numpy()).tobytes())
            expected[label] = expected.get(label, 0) + g.height * len(spec.measures)
    return {k: d.hexdigest() for k, d in hashers.items()}, expected


class BlockCache:
    """The per-block decisions of the last run, in one SQLite file (table `decisions`: block key
    -> (reasons, one code per cell of the block in publish order: 0 shown, i hidden for
    reasons[i - 1]), zlib-compressed: the JSON list of reasons, a newline, one byte per cell;
    the key names the cells in that order, so places stand for cells). Read lazily,
    one key at a time (only this run's blocks are looked up); new decisions and partitions are
    written as they are made, into one transaction that `save` ends (deleting those this run did
    not use) and commits: none is held in memory until the end of the run, a re-run after a small
    change writes a few rows, never the whole file, and a crash or a failed run leaves the
    previous state. A file that
    is not a readable cache (corrupt, or the JSON file of earlier versions) is replaced, with a
    warning: the run starts afresh. Behaves as a dict for protect (get, item assignment)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.used: set[str] = set()
        self.parts_kept: set[str] | None = None      # partition labels reused (None: no partition run)
        self.parts_new: set[str] = set()             # partition labels stored by this run
        path.parent.mkdir(parents=True, exist_ok=True)
        legacy = path.with_suffix(".json")   # the whole-file JSON cache of earlier versions
        if path.suffix == ".sqlite" and legacy.exists():
            log.info("disclosure cache: %s replaced by %s (blocks are recomputed once)", legacy, path)
            legacy.unlink(missing_ok=True)
        try:
            self.con = self._open()
        except sqlite3.DatabaseError as e:
            log.warning("disclosure cache %s unreadable (%s): starting afresh", path, e)
            for p in (path, Path(f"{path}-journal")):
                p.unlink(missing_ok=True)
            self.con = self._open()

    def _open(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, isolation_level=None)
        try:
            con.execute("create table if not exists decisions (key text primary key, hidden blob not null)")
            con.execute("create table if not exists partitions (label text primary key, digest text not null, "
                        "cells blob not null, blocks blob not null)")
            con.execute("select count(*) from decisions").fetchone()
        except sqlite3.DatabaseError:
            con.close()
            raise
        return con

    def get(self, key: str):
        try:
            row = self.con.execute("select hidden from decisions where key = ?", (key,)).fetchone()
            got = None
            if row is not None:
                raw = zlib.decompress(row[0])
                cut = raw.index(b"\n")
                reasons = json.loads(raw[:cut])
                codes = np.frombuffer(raw[cut + 1:], np.uint8)
                if codes.max(initial=0) > len(reasons) or not all(isinstance(r, str) for r in reasons):
                    raise ValueError("a code without a reason")
                got = (reasons, codes)
        except (sqlite3.DatabaseError, zlib.error, ValueError) as e:   # a damaged entry: recompute it
            log.warning("disclosure cache %s: entry unreadable (%s): recomputing its block", self.path, e)
            got = None
        if got is not None:
            self.used.add(key)
        return got

    def __setitem__(self, key: str, value: tuple) -> None:
        reasons, codes = value
        self._write("insert or replace into decisions values (?, ?)", (key, zlib.compress(
            json.dumps(reasons).encode() + b"\n" + np.asarray(codes, np.uint8).tobytes(), 6)))
        self.used.add(key)

    def _write(self, sql: str, row: tuple) -> None:
        """`row` written in this run's transaction (begun at its first write; `save` commits it)."""
        if not self.con.in_transaction:
            self.con.execute("begin immediate")
        self.con.execute(sql, row)

    def reuse_partitions(self, digests: dict[str, str], expected: dict[str, int],
                         load: set[str] | None = None, emit=None) -> tuple[list[pl.DataFrame], list[str]]:
        """The stored cells of every partition whose digest is unchanged (and whose entry reads
        back whole: the cells it should have, the output columns); their blocks' decisions are
        kept. Returns (cell frames, labels reused). `load`: the labels whose cells are wanted
        (default all); the others are only checked (entry, seal), and give no frame. `emit`:
        called as emit(label, cells) for each loaded partition instead of returning its frame."""
        import io
        self.parts_kept = set()
        frames, reused = [], []
        for label in sorted(digests):
            try:
                row = self.con.execute("select cells, blocks from partitions where label = ? and digest = ?",
                                       (label, digests[label])).fetchone()
                if row is None:
                    continue
                seal, *keys = zlib.decompress(row[1]).decode().split("\n")
                if seal != self._seal(label, digests[label], row[0]):
                    raise ValueError("its cells are not the ones stored for it")
                cells = None
                if load is None or label in load:
                    cells = pl.read_ipc(io.BytesIO(row[0]))
                    if cells.height != expected.get(label) or tuple(cells.columns) != OUTPUT_COLUMNS:
                        raise ValueError(f"{cells.height} cells, {expected.get(label)} expected")
            except Exception as e:   # noqa: BLE001 - a damaged entry: recompute its partition
                log.warning("disclosure cache %s: partition %s unreadable (%s): recomputing it", self.path, label, e)
                continue
            if cells is not None and emit is not None:
                emit(label, cells)
            elif cells is not None:
                frames.append(cells)
            reused.append(label)
            self.parts_kept.add(label)
            self.used.update(keys)
        return frames, reused

    def store_partition(self, label: str, digest: str, cells: pl.DataFrame, keys: list[str]) -> None:
        """The partition's cells as the engine has them (text columns as Enum, as reuse_partitions
        gives them back: `published` makes them text), one zstd IPC blob."""
        import io
        buf = io.BytesIO()
        cells.select(OUTPUT_COLUMNS).write_ipc(buf, compression="zstd")
        blob = buf.getvalue()
        lines = [self._seal(label, digest, blob)] + sorted(keys)
        self._write("insert or replace into partitions values (?, ?, ?, ?)",
                    (label, digest, blob, zlib.compress("\n".join(lines).encode(), 6)))
        self.parts_new.add(label)

    @staticmethod
    def _seal(label: str, digest: str, cells: bytes) -> str:
        """Ties a partition entry's cells to its label and digest (a swapped or damaged entry is recomputed)."""
        return hashlib.sha256(label.encode() + b"\0" + digest.encode() + b"\0" + cells).hexdigest()

    def save(self) -> None:
        con = self.con
        if not con.in_transaction:
            con.execute("begin immediate")
        try:
            if self.parts_kept is not None:   # a partition run: keep the partitions it reused or made
                con.execute("create temp table if not exists kept (label text primary key)")
                con.execute("delete from kept")
                con.executemany("insert into kept values (?)", ((k,) for k in self.parts_kept | self.parts_new))
                con.execute("delete from partitions where label not in (select label from kept)")
            con.execute("create temp table if not exists used (key text primary key)")
            con.execute("delete from used")
            con.executemany("insert into used values (?)", ((k,) for k in self.used))
            con.execute("delete from decisions where key not in (select key from used)")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        self.parts_new = set()

    def close(self) -> None:
        self.con.close()
