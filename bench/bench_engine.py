"""Where the disclosure engine's time goes, step by step, outside and inside the compiled kernel.

    .venv/bin/python bench/bench_engine.py --warehouse FULL.duckdb [--then CHANGED.duckdb]
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
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb  # noqa: E402

from pipelines.lib.disclosure import engine  # noqa: E402
from pipelines.lib.disclosure.structure import MARTS  # noqa: E402


def load_frames(path: Path) -> dict:
    """The unpublished marts of a warehouse file (read-only; a locked file is copied first)."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        tmp = Path(tempfile.mkdtemp(prefix="bench-engine-")) / path.name
        shutil.copy(path, tmp)
        con = duckdb.connect(str(tmp), read_only=True)
    try:
        return {m.name: con.execute(f'select * from marts."{m.name}"').pl() for m in MARTS}
    finally:
        con.close()


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def one_run(label: str, frames: dict, cache: Path | None, prof: cProfile.Profile | None, by_partition: bool = False):
    ch0 = _children_cpu()
    c0, w0 = time.process_time(), time.perf_counter()
    if prof:
        prof.enable()
    res = engine.run(frames, cache_path=cache, by_partition=by_partition and cache is not None)
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
        print(f"  {'process':<14}{'blocks':>7}{'vars':>9}{'busy s':>9}{'CPU s':>9}{'idle s':>9}  (of the blocks step)")
        for name, p in procs.items():
            print(f"  {name:<14}{p['blocks']:>7}{p['vars']:>9}{p['busy']:>9.1f}{p['cpu']:>9.1f}{p['idle']:>9.1f}")
    big = timing.get("largest", [])
    if big:
        print("  largest computed blocks (vars, process, start s, wall s, CPU s):")
        for vars_, who, start, w, c in big:
            print(f"    {vars_:>7} {who:<12} {start:>7.1f} {w:>7.1f} {c:>7.1f}")
    st = {k: v for k, v in res.stats.items() if not k.endswith("seconds")}
    print(f"  hidden cells {hid.height} of {res.cells.height}; sha {sha}; stats {st}; unresolved {res.unresolved}")
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
    ap.add_argument("--cprofile", type=Path, help="write the top of a cProfile of this process here")
    ap.add_argument("--cells-out", type=Path, help="write (mart, row_key, measure, hidden, reason) of the last "
                    "run here (Parquet)")
    args = ap.parse_args()
    if args.workers:
        os.environ["DESTINATIONS_DISCLOSURE_WORKERS"] = str(args.workers)
    cache = args.cache or Path(tempfile.mkdtemp(prefix="bench-engine-")) / "disclosure-cache.sqlite"
    prof = cProfile.Profile() if args.cprofile else None
    w0 = time.perf_counter()
    frames = load_frames(args.warehouse)
    print(f"frames of {args.warehouse}: {sum(f.height for f in frames.values())} rows "
          f"({time.perf_counter() - w0:.1f} s); cache {cache}; workers {engine.workers()}")
    res, _ = one_run("(a) cold, fresh cache", frames, cache, prof, args.by_partition)
    if args.then:
        frames2 = load_frames(args.then)
        res, _ = one_run(f"(b) {args.then.name} with the cache of (a)", frames2, cache, prof, args.by_partition)
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
