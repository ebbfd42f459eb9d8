"""Benchmark the returns ingest alone (no dbt): full, nothing changed, one corrected return.

    .venv/bin/python bench/bench_ingest.py --data DIR [--pristine DIR] [--scale large]
    .venv/bin/python bench/bench_ingest.py --ingest-only DIR      # one ingest, as `destinations run` does it

`--data` is reset from `--pristine` (a generated trust, never written) or generated with `--scale`.
Then, each in a fresh process: the full ingest (every file read, checked, loaded in one transaction),
the same with nothing changed, and one academy's latest R3 return corrected (one pupil's sex, as
bench/bench_pipeline.py does). Each line: wall and CPU seconds, peak memory (the process tree's
summed RSS, sampled every 0.1 s, and the kernel's max RSS of the process) and the ingest's own lines.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_pipeline import measure  # noqa: E402  (one process-tree meter for both benches)

TARGETS = {"full": 20.0, "one return": 3.0}
STATE = "bench_ingest_state.json"


def ingest_only(data: Path) -> int:
    """What `destinations run` does before dbt: scan inputs, load the changed returns partitions."""
    os.environ["DESTINATIONS_DATA_DIR"] = str(data)
    from pipelines.config import paths
    from pipelines.lib import runstate
    from pipelines.runner import _ingest_returns, returns_todo
    p = paths(data)
    t0 = time.perf_counter()
    inputs = runstate.scan(p)
    path = p.warehouse_dir / STATE
    previous = json.loads(path.read_text()) if path.exists() else {}
    changes = runstate.diff(previous, inputs)
    print(f"scan: {time.perf_counter() - t0:.2f}s", flush=True)
    todo = returns_todo(p, None if changes.full else set(changes.partitions))
    problems: list[str] = []
    t1 = time.perf_counter()
    _ingest_returns(p, todo, print, problems)
    print(f"ingest: {time.perf_counter() - t1:.2f}s for {len(todo)} partition(s)", flush=True)
    for line in problems:
        print("PROBLEM", line[:500])
    path.write_text(json.dumps({"version": runstate.STATE_VERSION, "inputs": inputs.to_json()}))
    return 1 if problems else 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ingest-only", type=Path, help="run one ingest on this data directory and exit")
    ap.add_argument("--data", type=Path, help="work directory (reset for the benchmark)")
    ap.add_argument("--pristine", type=Path, help="generated trust to copy from (left untouched)")
    ap.add_argument("--scale", default="large")
    ap.add_argument("--skip", default="", help="comma list of cases to skip: nochange,one")
    args = ap.parse_args()
    if args.ingest_only:
        sys.exit(ingest_only(args.ingest_only))
    data = args.data
    env = {**os.environ, "DO_NOT_TRACK": "1", "GX_ANALYTICS_ENABLED": "false", "DESTINATIONS_DATA_DIR": str(data)}
    py = str(ROOT / ".venv" / "bin" / "python")
    shutil.rmtree(data, ignore_errors=True)
    if args.pristine:
        shutil.copytree(args.pristine, data, symlinks=True)
    else:
        subprocess.run([str(ROOT / ".venv" / "bin" / "destinations"), "generate", "--scale", args.scale,
                        "--out", str(data)], env=env, check=True)
    files = sum(1 for f in (data / "raw" / "returns").rglob("*") if f.is_file())
    print(f"landing zone: {sum(1 for _ in (data / 'raw' / 'returns').iterdir())} academies, {files} return files")
    run = [py, str(Path(__file__).resolve()), "--ingest-only", str(data)]

    def report(name: str, r: dict) -> None:
        target = TARGETS.get(name)
        verdict = f"  target <= {target:g}s: {'MET' if r['wall'] <= target else 'NOT MET'}" if target else ""
        load = os.getloadavg()
        print(f"{name:<11s} wall {r['wall']:7.2f}s  cpu {r['cpu']:7.2f}s  tree peak {r['peak'] / 2**30:5.2f} GB  "
              f"max RSS {r['maxrss'] / 2**30:5.2f} GB  exit {r['rc']}  load {load[0]:.1f}{verdict}", flush=True)
        for line in r["out"].splitlines():
            if line.startswith(("scan", "ingest", "  ", "PROBLEM")) and "returns 20" not in line:
                print("    " + line[:300])

    report("full", measure(run, env))
    if "nochange" not in args.skip:
        report("no change", measure(run, env))
    if "one" not in args.skip:
        from bench.bench_pipeline import correct_one_return
        f = correct_one_return(data)
        print(f"  corrected {f.relative_to(data)}")
        report("one return", measure(run, env))


if __name__ == "__main__":
    main()
