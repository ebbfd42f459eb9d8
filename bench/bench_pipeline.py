"""Benchmark: generate a trust and time `destinations run` (ingest, dbt build, checks, publish).

    .venv/bin/python bench/bench_pipeline.py [--scale small|large] [--keep DIR]
Prints wall times, dbt build time and rows per serving mart.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.pop("DAGSTER_HOME", None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="small", choices=["small", "large"])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--keep", type=Path, help="use/keep this data directory")
    args = ap.parse_args()

    data = args.keep or Path(tempfile.mkdtemp(prefix=f"bench_{args.scale}_"))
    os.environ["DESTINATIONS_DATA_DIR"] = str(data)
    import polars as pl

    from pipelines.lib.generate import generate_trust
    from pipelines.runner import run_pipeline

    t0 = time.perf_counter()
    generate_trust(data, seed=args.seed, scale=args.scale)
    t1 = time.perf_counter()
    lines: list[str] = []
    rc = run_pipeline(data, echo=lines.append)
    t2 = time.perf_counter()
    print(f"scale={args.scale} generate={t1 - t0:.1f}s run={t2 - t1:.1f}s exit={rc}")
    for line in lines:
        if "Ingested" in line or "FAILED" in line or line.startswith("  -"):
            print(line)
    serving = data / "warehouse" / "serving"
    for f in sorted(serving.glob("*.parquet")):
        print(f"  {f.stem:45s} {pl.scan_parquet(f).select(pl.len()).collect().item():>10,d} rows")
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
