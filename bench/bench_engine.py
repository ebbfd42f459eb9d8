"""Where the disclosure engine's time goes, step by step, outside and inside the compiled kernel.

    .venv/bin/python bench/bench_engine.py --warehouse FULL.duckdb [--then CHANGED.duckdb]
        [--partition LABEL [--academies N]]
        [--cache FILE] [--workers N] [--by-partition] [--cprofile OUT.txt] [--cells-out OUT.parquet]

(a) `engine.run` on the marts of FULL (schema `marts`, one table per structure.MARTS name), cold,
with a fresh cache file (--cache, default a new temporary file); (b) with --then: the marts of
CHANGED (e.g. the warehouse after one corrected return) with the cache (a) wrote. The warehouse
files are only read (copied first if DuckDB cannot open them read-only).

Prints for each run: wall and CPU seconds of every step (structure, primary rules, facts and
audiences, block keys, cache read / write, blocks in this process and in the workers, result
frame), the CPU seconds of the worker processes, who did which block when (busy and idle time of
this process and each worker), the largest blocks, and the result: hidden cells and the sha256 of
the hidden (var, reason) pairs sorted by var (12 hex digits; the `large` whole-structure check).
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import os
import pstats
import resource
import shutil
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from pipelines.lib.disclosure import engine  # noqa: E402
from pipelines.lib.disclosure.structure import MART_BY_NAME, MARTS, partition_labels  # noqa: E402

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss(pid: int | str = "self") -> int:
    """Resident bytes of one process (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _hwm() -> int:
    """This process's peak resident bytes (VmHWM: reset by Memory.__enter__)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            kids = []
        out += kids
        todo += kids
    return out


ALIVE: dict[int, tuple[int, int]] = {}   # block size -> (bytes, stores) of its kernel stores alive at once, at most
USE: dict[int, np.ndarray] = {}          # block size -> kernel.store_use of its largest store


def _track_stores() -> None:
    """Fill ALIVE and USE from every store the kernel notes (kernel._noted wrapped; this process)."""
    from pipelines.lib.disclosure import kernel
    if getattr(kernel._noted, "tracked", False):
        return
    noted, alive = kernel._noted, {}

    def tracked(S):
        n, b = S[9].shape[0], sum(a.nbytes for a in S)
        if b > kernel.STORE_BYTES.get(n, 0) and hasattr(kernel, "store_use"):
            USE[n] = kernel.store_use(S)
        alive[id(S[9])] = (weakref.ref(S[9]), n, b)   # S[9]: an array a store keeps for its life
        tot = cnt = 0
        for k, (r, m, bb) in list(alive.items()):
            if r() is None:
                del alive[k]
            elif m == n:
                tot, cnt = tot + bb, cnt + 1
        if tot > ALIVE.get(n, (0, 0))[0]:
            ALIVE[n] = (tot, cnt)
        return noted(S)
    tracked.tracked = True
    kernel._noted = tracked


class Memory:
    """Samples this process's resident memory (and that of its descendants: the engine's worker
    processes) every `every` seconds, tagging each sample with the engine step running then
    (engine._Clock); `peaks` is step -> (peak RSS here, peak RSS of the whole process tree). The
    sampler cannot run while a compiled call holds the interpreter, so the kernel's own peak
    (VmHWM) is read as each step ends too: `hwm` is step -> the peak it raised."""

    def __init__(self, every: float = 0.02) -> None:
        self.every, self.step, self.peaks, self.hwm = every, ["(outside)"], {}, {}
        self._stop = threading.Event()
        self._thread = None
        self._orig = engine._Clock.__call__
        mem = self

        def call(clock, name):
            inner = mem._orig(clock, name)

            class _Tagged:
                def __enter__(self):
                    mem.step.append(name)
                    return inner.__enter__()

                def __exit__(self, *exc):
                    try:
                        return inner.__exit__(*exc)
                    finally:
                        mem.step.pop()
                        h = _hwm()
                        if h > mem.last_hwm:
                            mem.hwm[name], mem.last_hwm = h, h
            return _Tagged()
        self._call = call

    def _loop(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self.every):
            here = _rss()
            tree = here + sum(_rss(p) for p in _descendants(me))
            name = self.step[-1]
            a, b = self.peaks.get(name, (0, 0))
            self.peaks[name] = (max(a, here), max(b, tree))

    def __enter__(self):
        _track_stores()
        with open("/proc/self/clear_refs", "w") as f:   # VmHWM from here
            f.write("5")
        self.base = self.last_hwm = _rss()
        engine._Clock.__call__ = self._call
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.end_hwm = _hwm()   # the run's peak (what the caller does after is not the engine's)
        self._stop.set()
        self._thread.join()
        engine._Clock.__call__ = self._orig

    def report(self, cells: int) -> None:
        top = max(max((a for a, _ in self.peaks.values()), default=0), self.end_hwm)
        tree = max((b for _, b in self.peaks.values()), default=0)
        print(f"  memory: {self.base / 2**20:.0f} MB before the run; peak {top / 2**20:.0f} MB here "
              f"({(top - self.base) / max(cells, 1) / 1024:.2f} KB per cell above the start, "
              f"{top / max(cells, 1) / 1024:.2f} KB per cell in all), {tree / 2**20:.0f} MB with the workers")
        print(f"  {'peak RSS during step':<34}{'MB here':>9}{'MB tree':>9}{'HWM MB':>9}  (HWM: the peak, where it rose)")
        for name in dict.fromkeys([*self.peaks, *self.hwm]):
            a, b = self.peaks.get(name, (0, 0))
            h = self.hwm.get(name)
            print(f"  {name:<34}{a / 2**20:>9.0f}{b / 2**20:>9.0f}{h / 2**20 if h else 0:>9.0f}")
        from pipelines.lib.disclosure.kernel import STORE_BYTES   # blocks done in this process only
        for n in sorted(STORE_BYTES, reverse=True)[:3]:
            alive, stores = ALIVE.get(n, (0, 0))
            print(f"  kernel store of a {n}-variable block: {STORE_BYTES[n] / 2**20:.0f} MB at most "
                  f"({STORE_BYTES[n] / n:.0f} bytes per variable); its stores alive at once: "
                  f"{alive / 2**20:.0f} MB in {stores} at most")
            u = USE.get(n)
            if u is not None:
                print(f"    its rows: arena {u[0]}, top {u[1]}, live {u[2]} (room {u[3]}); "
                      f"list nodes: arena {u[4]}, top {u[5]}, still needed {u[6]}")


def load_frames(path: Path) -> dict:
    """The unpublished marts of a warehouse file (read-only; a locked file is copied first)."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        tmp = Path(tempfile.mkdtemp(prefix="bench-engine-")) / path.name
        shutil.copy(path, tmp)
        con = duckdb.connect(str(tmp), read_only=True)
    try:
        have = {r[0] for r in con.execute("select table_name from information_schema.tables "
                                          "where table_schema = 'marts'").fetchall()}
        return {m.name: con.execute(f'select * from marts."{m.name}"').pl() for m in MARTS if m.name in have}
    finally:
        con.close()


def write_frames(frames: dict, path: Path) -> None:
    """The frames as the marts of a new warehouse file (load_frames reads it back)."""
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        for name, f in frames.items():
            con.register("f", f.to_arrow())
            con.execute(f'create table marts."{name}" as select * from f')
            con.unregister("f")
    finally:
        con.close()


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def only_partition(frames: dict, label: str) -> dict:
    """The rows of one partition (structure.partition_labels) of every mart that has it."""
    out = {}
    for name, f in frames.items():
        keep = f.filter(partition_labels(MART_BY_NAME[name], f) == label)
        if keep.height:
            out[name] = keep
    return out


def only_academies(frames: dict, n: int) -> dict:
    """The rows of the first `n` academies (by URN) of the frames, and the trust rows made again
    as their sums (each "academies to trust" rollup's parts summed by its match columns, then each
    repeated frame total as the sum of its frame's rows), so every relation of the structure still
    holds: a national slice of n academies in one trust, to see how each step grows with academies."""
    urns = sorted({u for f in frames.values() if "academy_urn" in f.columns
                   for u in f.filter(pl.col("level") == "academy")["academy_urn"].unique().drop_nulls().to_list()})
    keep = urns[:n]
    out = {}
    for name, f in frames.items():
        spec = MART_BY_NAME[name]
        acad = f.filter((pl.col("level") == "academy") & pl.col("academy_urn").is_in(keep))
        trust = f.filter(pl.col("level") == "trust")
        rest = f.filter(~pl.col("level").is_in(["academy", "trust"]))
        for ru in spec.rollups:
            ms = [p for _, p in ru.measures] if ru.measures else list(spec.measures)
            cols = [x.split(".", 1)[1] for x, _ in ru.match]
            if ru.name == "academies to trust":
                sums = acad.filter(pl.sql_expr(ru.parts.replace("p.", ""))).group_by(cols).agg(
                    pl.col(m).sum() for m in ms)
                trust = trust.drop(ms).join(sums, on=cols, how="left", nulls_equal=True).with_columns(
                    pl.col(m).fill_null(0).cast(f.schema[m]) for m in ms).select(f.columns)
        for ru in spec.rollups:
            if ru.whole_one_per:
                cols = [x.split(".", 1)[1] for x, _ in ru.match]
                trust = trust.with_columns(pl.col(p).sum().over(cols).cast(f.schema[w]).alias(w) for w, p in ru.measures)
        out[name] = pl.concat([acad, trust, rest], how="vertical")
    return out


PROGRESS = False   # --progress: the engine's progress lines (run(on_progress=...)) printed as they come


def one_run(label: str, frames: dict, cache: Path | None, prof: cProfile.Profile | None, by_partition: bool = False,
            memory: bool = False):
    ch0 = _children_cpu()
    mem = Memory() if memory else None
    c0, w0, t0 = time.process_time(), time.perf_counter(), time.time()   # t0: block times are time.time()
    more = {"on_progress": lambda line: print(f"  [{time.perf_counter() - w0:7.1f}s] {line}", flush=True)} \
        if PROGRESS else {}
    if prof:
        prof.enable()
    if mem:
        with mem:
            res = engine.run(frames, cache_path=cache, by_partition=by_partition and cache is not None, **more)
    else:
        res = engine.run(frames, cache_path=cache, by_partition=by_partition and cache is not None, **more)
    if prof:
        prof.disable()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    timing = getattr(res, "timing", None) or {}
    # worker processes are the forkserver's children, not ours: their CPU is what they report
    workers_cpu = sum(p["cpu"] for who, p in timing.get("processes", {}).items() if who != "main") \
        or _children_cpu() - ch0
    # by variable (the `large` whole-structure check); a partition run has no variable numbers: by cell
    ident = ["var"] if "var" in res.cells.columns else ["mart", "row_key", "measure"]
    hid = res.cells.filter(res.cells["hidden"]).select(*ident, "reason").sort(ident)
    sha = hashlib.sha256(repr(hid.rows()).encode()).hexdigest()[:12]
    print(f"\n== {label}: {wall:.1f} s wall; CPU {cpu:.1f} s here + {workers_cpu:.1f} s in worker processes "
          f"= {cpu + workers_cpu:.1f} s; load {os.getloadavg()[0]:.1f}")
    steps = timing.get("steps", {})
    if steps:
        print(f"  {'step':<34}{'wall s':>9}{'CPU s':>9}")
        for name, (w, c) in steps.items():
            print(f"  {name:<34}{w:>9.2f}{c:>9.2f}")
    procs = timing.get("processes", {})
    if procs:
        print(f"  blocks from {timing['blocks_from'] - t0:.1f} s to {timing['blocks_to'] - t0:.1f} s of the run "
              f"(span {timing['blocks_seconds']:.1f} s)")
        print(f"  {'process':<14}{'blocks':>7}{'vars':>9}{'busy s':>9}{'CPU s':>9}{'idle s':>9}  (of the span)")
        for name, p in procs.items():
            print(f"  {name:<14}{p['blocks']:>7}{p['vars']:>9}{p['busy']:>9.1f}{p['cpu']:>9.1f}{p['idle']:>9.1f}")
    when = timing.get("when", [])
    if when:   # per tenth of the blocks' span: how busy each process was (1.0 = all of it)
        a, span = timing["blocks_from"], max(timing["blocks_seconds"], 1e-9)
        cuts = [a + span * i / 10 for i in range(11)]
        print("  busy per tenth of the span: " + " ".join(f"{c - t0:>5.0f}s" for c in cuts[:-1]))
        for who in procs:
            row = [sum(max(0.0, min(e, cuts[i + 1]) - max(s, cuts[i])) for p, s, e, _ in when if p == who) / (span / 10)
                   for i in range(10)]
            print(f"    {who:<24}" + " ".join(f"{x:>6.2f}" for x in row))
    big = timing.get("largest", [])
    if big:
        print("  largest computed blocks (vars, process, start s from the run's start, wall s, CPU s):")
        for vars_, who, start, w, c in big:
            print(f"    {vars_:>7} {who:<12} {start - t0:>7.1f} {w:>7.1f} {c:>7.1f}")
    st = {k: v for k, v in res.stats.items() if not k.endswith("seconds")}
    print(f"  hidden cells {hid.height} of {res.cells.height}; sha {sha}; stats {st}; unresolved {res.unresolved}")
    if mem:
        mem.report(res.cells.height)
    return res, sha


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouse", type=Path, required=True)
    ap.add_argument("--then", type=Path, help="a second warehouse, run with the cache the first run wrote")
    ap.add_argument("--cache", type=Path, help="cache file (default: a fresh one in a temporary folder)")
    ap.add_argument("--workers", type=int, help="DESTINATIONS_DISCLOSURE_WORKERS for the runs")
    ap.add_argument("--cold-then", action="store_true", help="also run the second warehouse cold (no cache) "
                    "and check it gives the cached run's cells")
    ap.add_argument("--by-partition", action="store_true", help="run as the dbt model does: partitions "
                    "whose rows are unchanged come from the cache (engine.run by_partition)")
    ap.add_argument("--partition", help="run on the rows of this partition only (e.g. leaving_year=2024-25)")
    ap.add_argument("--academies", type=int, help="keep the first N academies only, their trust rows made again "
                    "as their sums (only_academies): how each step grows with academies")
    ap.add_argument("--memory", action="store_true", help="sample resident memory per step (here and in the "
                    "worker processes)")
    ap.add_argument("--progress", action="store_true", help="print the engine's progress lines (with --by-partition)")
    ap.add_argument("--cprofile", type=Path, help="write the top of a cProfile of this process here")
    ap.add_argument("--slice-out", type=Path, help="write the frames (after --partition/--academies) as a "
                    "warehouse file here and stop: a slice to measure in a process that never held the whole marts")
    ap.add_argument("--cells-out", type=Path, help="write (mart, row_key, measure, hidden, reason) of the last "
                    "run here (Parquet)")
    args = ap.parse_args()
    global PROGRESS
    PROGRESS = args.progress
    if args.workers:
        os.environ["DESTINATIONS_DISCLOSURE_WORKERS"] = str(args.workers)
    cache = args.cache or Path(tempfile.mkdtemp(prefix="bench-engine-")) / "disclosure-cache.sqlite"
    prof = cProfile.Profile() if args.cprofile else None
    w0 = time.perf_counter()
    frames = load_frames(args.warehouse)
    if args.partition:
        frames = only_partition(frames, args.partition)
    if args.academies:
        frames = only_academies(frames, args.academies)
    print(f"frames of {args.warehouse}: {sum(f.height for f in frames.values())} rows "
          f"({time.perf_counter() - w0:.1f} s); cache {cache}; workers {engine.workers()}")
    if args.slice_out:
        write_frames(frames, args.slice_out)
        print(f"slice written: {args.slice_out}")
        return
    res, _ = one_run("(a) cold, fresh cache", frames, cache, prof, args.by_partition, args.memory)
    if args.then:
        frames2 = load_frames(args.then)
        if args.partition:
            frames2 = only_partition(frames2, args.partition)
        res, _ = one_run(f"(b) {args.then.name} with the cache of (a)", frames2, cache, prof, args.by_partition,
                         args.memory)
        if args.cold_then:
            cold, _ = one_run(f"(b') {args.then.name} cold, no cache", frames2, None, None)
            cols = ["mart", "row_key", "measure", "hidden", "reason"]
            a, b = res.cells.select(cols), cold.cells.select(cols)
            print(f"  cached vs cold: {a.join(b, on=cols, how='anti', nulls_equal=True).height} + "
                  f"{b.join(a, on=cols, how='anti', nulls_equal=True).height} rows differ")
    if args.cells_out:
        res.cells.select("mart", "row_key", "measure", "hidden", "reason").write_parquet(args.cells_out)
    if prof:
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(60)
        s2 = io.StringIO()
        pstats.Stats(prof, stream=s2).sort_stats("tottime").print_stats(40)
        args.cprofile.write_text(s.getvalue() + "\n\n" + s2.getvalue())
        print(f"cProfile of this process: {args.cprofile}")


if __name__ == "__main__":
    main()
