"""`destinations generate`: write the synthetic demo trust."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "generate",
        help="write a synthetic trust (register, returns, truth) in the landing layout",
        description="Write a synthetic multi-academy trust: raw/academies.csv, "
                    "raw/returns/<URN>/<YYYY-YY>/<R1|R2|R3>/..., and _truth/ for tests. "
                    "Same arguments give byte-identical files.")
    p.add_argument("--out", help="data directory to write (default: DESTINATIONS_DATA_DIR)")
    p.add_argument("--academies", type=int, default=None,
                   help="number of academies (default: 12 small, 96 large, 4850 national)")
    p.add_argument("--years", type=int, default=4,
                   help="complete leaving years ending 2025-26, plus the current 2026-27 R1 (default 4)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--scale", choices=["small", "large", "national"], default="small")
    p.set_defaults(func=_run)


def _run(args) -> int:
    import sys
    import time
    from pathlib import Path

    from pipelines.config import data_dir
    from pipelines.lib.generate import GenerateError, generate_trust

    out = Path(args.out).expanduser().resolve() if args.out else data_dir()
    t0 = time.perf_counter()
    try:
        s = generate_trust(out, academies=args.academies, years=args.years, seed=args.seed,
                           scale=args.scale)
    except GenerateError as exc:
        print(f"generate: {exc}", file=sys.stderr)
        return 2
    secs = time.perf_counter() - t0
    years = ", ".join(f"{y}: {n}" for y, n in s["pupils_per_year"].items())
    print(f"Generated {s['scale']} trust (seed {s['seed']}) in {secs:.1f}s into {s['out']}")
    print(f"  academies: {s['academies']}  (register: raw/academies.csv)")
    print(f"  leaving years: {', '.join(s['leaving_years'])} (R1-R3) + {s['current_year']} (R1 so far)")
    print(f"  pupils per leaving year: {years}")
    print(f"  return files: {s['files_written']} under raw/returns/ ({s['return_rows']} rows)")
    print("  truth for tests: _truth/pupils.parquet, _truth/leavers.parquet")
    return 0
