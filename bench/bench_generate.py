"""Time the synthetic trust generator: small and large (and national with --national).

    .venv/bin/python bench/bench_generate.py [--national] [--years N] [--careers]

Prints academies, leavers per year, files, return rows, seconds and files' size per scale.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pipelines.config  # noqa: F401  (telemetry off)
from pipelines.lib.generate import generate_trust


def _size_mb(root: Path) -> float:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e6


def bench(scale: str, years: int, careers: bool) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench_gen_{scale}_"))
    try:
        t0 = time.perf_counter()
        s = generate_trust(tmp, scale=scale, years=years, with_careers=careers)
        secs = time.perf_counter() - t0
        per_year = s["pupils_per_year"]
        row = {"scale": scale, "years": years, "academies": s["academies"],
               "leavers_per_year": round(sum(per_year.values()) / len(per_year)),
               "files": s["files_written"], "return_rows": s["return_rows"],
               "seconds": round(secs, 1), "mb": round(_size_mb(tmp), 1)}
        print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
        return row
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--national", action="store_true", help="also run national scale (~1.1M leavers/year)")
    ap.add_argument("--years", type=int, default=4)
    ap.add_argument("--careers", action="store_true", help="include the FSQ/Compass hook")
    args = ap.parse_args()
    bench("small", args.years, args.careers)
    bench("large", args.years, args.careers)
    if args.national:
        bench("national", args.years, args.careers)


if __name__ == "__main__":
    main()
