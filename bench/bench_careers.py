"""Benchmark: land the FSQ and Compass exports of a generated trust (target: both under ~10 s).

    .venv/bin/python bench/bench_careers.py [--data DIR] [--profile fsq|compass] [--scale small]

Uses the raw/fsq, raw/compass and raw/academies.csv of DIR (a `destinations generate` output);
without --data it generates the careers files for the demo trust into a temporary directory
(the trust generator with careers). The data directory is never written: the files are linked
into a throw-away data directory with its own warehouse, feedback and quarantine folders.
Times, in that order:
  1. `land("fsq")`      read + validate (suite in polars + plain checks) + feedback + load raw.fsq_responses;
  2. `land("compass")`  the same for raw.compass_evaluations;
  3. a re-run of both with nothing changed (must be cheap: content hash, no parsing);
  4. a re-run after touching one FSQ file's bytes (one file re-read, the rest skipped).
Imports (polars, duckdb) are warmed first and timed separately (checking needs no Great Expectations).
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _link_tree(src: Path, dst: Path) -> None:
    for p in sorted(src.rglob("*")):
        if p.is_file():
            q = dst / p.relative_to(src)
            q.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, q)  # a copy: step 4 changes one file's bytes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="a generated trust (default: generate one)")
    ap.add_argument("--scale", default="small")
    ap.add_argument("--profile", choices=["fsq", "compass"], help="cProfile that step, print the top 30")
    args = ap.parse_args()

    t0 = time.perf_counter()
    import duckdb

    import pipelines.config as cfg
    from pipelines.lib.careers.landing import land
    import polars  # noqa: F401
    t_import = time.perf_counter() - t0

    with tempfile.TemporaryDirectory(prefix="bench_careers_") as tmp:
        src = args.data
        if src is None:
            from pipelines.lib.generate import generate_trust
            src = Path(tmp) / "generated"
            tg = time.perf_counter()
            generate_trust(src, scale=args.scale)
            print(f"generated the {args.scale} trust in {time.perf_counter() - tg:.1f} s")
        root = Path(tmp) / "data"
        (root / "raw").mkdir(parents=True)
        shutil.copy2(src / "raw" / "academies.csv", root / "raw" / "academies.csv")
        for kind in ("fsq", "compass"):
            _link_tree(src / "raw" / kind, root / "raw" / kind)
        paths = cfg.paths(root)
        paths.warehouse_dir.mkdir(parents=True, exist_ok=True)
        files = {k: sum(1 for p in (root / "raw" / k).rglob("*") if p.is_file()) for k in ("fsq", "compass")}
        mb = {k: sum(p.stat().st_size for p in (root / "raw" / k).rglob("*") if p.is_file()) / 1e6
              for k in ("fsq", "compass")}

        # warm-up: code paths on a throw-away warehouse with one file of each kind
        warm = Path(tmp) / "warm"
        (warm / "raw").mkdir(parents=True)
        shutil.copy2(root / "raw" / "academies.csv", warm / "raw" / "academies.csv")
        for kind in ("fsq", "compass"):
            first = sorted(p for p in (root / "raw" / kind).rglob("*") if p.is_file())[:1]
            for p in first:
                q = warm / p.relative_to(root)
                q.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(p, q)
        wp = cfg.paths(warm)
        wp.warehouse_dir.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(wp.warehouse)) as wcon:
            land("fsq", wp, wcon)
            land("compass", wp, wcon)

        con = duckdb.connect(str(paths.warehouse))
        timings, results = {}, {}
        for kind in ("fsq", "compass"):
            prof = cProfile.Profile() if args.profile == kind else None
            c = time.process_time()
            t = time.perf_counter()
            if prof:
                prof.enable()
            results[kind] = land(kind, paths, con)
            if prof:
                prof.disable()
            timings[kind] = (time.perf_counter() - t, time.process_time() - c)
            if prof:
                pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
        rows = {"fsq": con.execute("select count(*) from raw.fsq_responses").fetchone()[0],
                "compass": con.execute("select count(*) from raw.compass_evaluations").fetchone()[0]}
        t = time.perf_counter()
        again = land("fsq", paths, con) + land("compass", paths, con)
        t_rerun = time.perf_counter() - t
        one = sorted(p for p in (root / "raw" / "fsq").rglob("*.csv"))[0]
        one.write_bytes(one.read_bytes() + b"\n")  # a blank line: new bytes, the same answers
        t = time.perf_counter()
        changed = land("fsq", paths, con)
        t_one = time.perf_counter() - t
        rows_after = con.execute("select count(*) from raw.fsq_responses").fetchone()[0]
        con.close()

    print(f"careers ingest benchmark ({src})")
    print(f"  imports (once per process)               {t_import:6.2f} s")
    for kind in ("fsq", "compass"):
        wall, cpu = timings[kind]
        res = results[kind]
        by = {}
        for r in res:
            by[r.status] = by.get(r.status, 0) + 1
        print(f"  land({kind!r:9}) {files[kind]:4d} files {mb[kind]:5.1f} MB  {wall:6.2f} s  (cpu {cpu:5.2f} s)"
              f"  {rows[kind]:>9,} rows  {rows[kind] / max(wall, 1e-9):>9,.0f} rows/s  {by}")
    total = timings["fsq"][0] + timings["compass"][0]
    print(f"  both                                     {total:6.2f} s  "
          f"(target < 10 s: {'met' if total < 10 else 'NOT met'})")
    print(f"  re-run, nothing changed                  {t_rerun:6.2f} s  ({len(again)} files re-checked)")
    print(f"  re-run, one FSQ file changed             {t_one:6.2f} s  ({len(changed)} file re-checked, "
          f"rows {rows['fsq']:,} -> {rows_after:,})")
    print(f"  machine load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    assert rows_after == rows["fsq"]
    return 0


if __name__ == "__main__":
    sys.exit(main())
