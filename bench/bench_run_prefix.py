"""Time a full `destinations run` up to the dbt build: returns ingest, definitions, FSQ and Compass.

    .venv/bin/python bench/bench_run_prefix.py LANDING [--runs 2] [--env NAME=VALUE ...] [--stale-manifest]
        [--alternate NAME=VALUE ...] [--tree-a DIR]

Each run copies LANDING (a data directory with raw/, e.g. /tmp/large.pristine) to a fresh folder,
starts `destinations run` there and stops it when the `warehouse_models` step starts (or at the
end). Prints wall seconds to that moment, the process tree's CPU seconds (the checking process
included), the run's own step lines, and the machine's load. `--env` sets variables for the run
(`--alternate` those of a variant A run alternately with B; `--tree-a` runs A from another source
tree, e.g. `git archive` of main, with this .venv); with
`--stale-manifest` the project's manifest is made older than its models first (so the run parses).
Run two variants back to back (`--alternate`) to compare them under the same load.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_pipeline import measure, run_command, run_env  # noqa: E402

STOP_AT = "step warehouse_models started"


def one_run(landing: Path, env_extra: dict[str, str], stale_manifest: bool, tree: Path | None = None) -> dict:
    work = Path(tempfile.mkdtemp(prefix="run-prefix-", dir="/tmp"))
    try:
        shutil.copytree(landing / "raw", work / "raw")
        if stale_manifest:
            manifest = (tree or ROOT) / "dbt_project" / "target" / "manifest.json"
            if manifest.exists():
                os.utime(manifest, (0, 0))
        env = run_env(work, tree, **env_extra)   # tree: e.g. `git archive` of main, with this .venv
        load = os.getloadavg()[0]
        r = measure(run_command(tree), env, stop_at=STOP_AT, cwd=tree or ROOT)
        return {"to_dbt": r["wall"], "cpu": r["cpu"], "peak_gb": r["peak"] / 1e9, "load": load,
                "lines": [ln for ln in r["out"].splitlines() if ln.strip()], "reached": r["stopped"]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("landing", type=Path)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for variant B (and A with --alternate)")
    ap.add_argument("--alternate", action="append", default=None,
                    help="NAME=VALUE for variant A: runs A and B alternately, back to back")
    ap.add_argument("--stale-manifest", action="store_true")
    ap.add_argument("--tree-a", type=Path, help="variant A runs this source tree (its own dbt_project/target)")
    args = ap.parse_args()
    variants = {"B": dict(e.split("=", 1) for e in args.env)}
    if args.alternate is not None or args.tree_a:
        variants = {"A": dict(e.split("=", 1) for e in args.alternate or []), **variants}
    for i in range(args.runs):
        for name, env in variants.items():
            r = one_run(args.landing, env, args.stale_manifest, args.tree_a if name == "A" else None)
            print(f"run {i + 1} {name} {env or ''}: to dbt {r['to_dbt']:6.1f}s  cpu {r['cpu']:6.1f}s  "
                  f"peak {r['peak_gb']:.2f} GB  load {r['load']:.1f}" + ("" if r["reached"] else "  (ended early)"),
                  flush=True)
            for ln in r["lines"]:
                if not ln.lstrip().startswith("returns 20") and "step " not in ln or "done in" in ln:
                    print("    " + ln[:160], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
