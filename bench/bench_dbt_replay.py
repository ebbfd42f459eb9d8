"""Replay the dbt part of a `destinations run` on a copy of its warehouse, to A/B dbt settings.

    .venv/bin/python bench/bench_dbt_replay.py WAREHOUSE.duckdb RUN_TARGET_DIR [--threads N] [--cache C]

Copies WAREHOUSE (never written) and the disclosure cache C to a temp folder, then runs
`dbt build` with the selection and leaving years the run used (read from RUN_TARGET_DIR's
run_results.json and the environment variable the run set), and prints wall, CPU seconds, peak
RSS (/usr/bin/time -v) and the critical path (bench_dbt_path.py). On a warehouse that already
holds the run's result, every selected model does its work again; the disclosure engine finds its
partitions unchanged, so what is left is the rest of dbt.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("warehouse", type=Path)
    ap.add_argument("run_target", type=Path, help="the run's dbt target folder (run_results.json)")
    ap.add_argument("--threads", default=os.environ.get("DESTINATIONS_DBT_THREADS", "4"))
    ap.add_argument("--cache", type=Path, help="disclosure-cache.sqlite of that warehouse")
    ap.add_argument("--years", default="", help="DESTINATIONS_BUILD_LEAVING_YEARS (default: all)")
    ap.add_argument("--work", type=Path, required=True, help="folder for the warehouse copy and dbt target (reused)")
    ap.add_argument("--keep", type=Path, help="leave the warehouse copy here")
    ap.add_argument("--project", type=Path, default=ROOT / "dbt_project",
                    help="dbt project folder (e.g. another commit's, from git archive)")
    ap.add_argument("--top", type=int, default=0, help="also list the N slowest nodes")
    a = ap.parse_args()
    a.path_args = ["--top", str(a.top)] if a.top else []
    args = json.loads((a.run_target / "run_results.json").read_text())["args"]
    # a fixed folder per project: the same warehouse path and target keep dbt's partial parse
    t = a.work
    t.mkdir(parents=True, exist_ok=True)
    wh = t / "warehouse.duckdb"
    wh.with_name(wh.name + ".wal").unlink(missing_ok=True)   # a killed replay's log must not replay
    shutil.copy2(a.warehouse, wh)
    if a.cache:
        shutil.copy2(a.cache, t / "disclosure-cache.sqlite")
    target = t / "target"
    target.mkdir(exist_ok=True)
    env = {**os.environ, "DESTINATIONS_WAREHOUSE_PATH": str(wh), "DBT_TARGET_PATH": str(target),
           "DBT_LOG_PATH": str(t / "logs"), "DESTINATIONS_DISCLOSURE_CACHE": str(t / "disclosure-cache.sqlite"),
           "DESTINATIONS_DBT_THREADS": str(a.threads), "DO_NOT_TRACK": "1"}
    if a.years:
        env["DESTINATIONS_BUILD_LEAVING_YEARS"] = a.years
    cmd = [str(ROOT / ".venv/bin/dbt"), "build", "--profiles-dir", ".", "--exclude-resource-type", "unit_test"]
    if args.get("select"):
        cmd += ["--select", *args["select"]]
    if args.get("selector"):
        cmd += ["--selector", args["selector"]]
    r = subprocess.run(["/usr/bin/time", "-v", *cmd], cwd=a.project, env=env,
                       capture_output=True, text=True)
    tv = dict(l.strip().rsplit(": ", 1) for l in r.stderr.splitlines() if l.startswith("\t") and ": " in l)
    cpu = float(tv["User time (seconds)"]) + float(tv["System time (seconds)"])
    print(f"threads {a.threads}: exit {r.returncode}  wall {tv['Elapsed (wall clock) time (h:mm:ss or m:ss)']}  "
          f"cpu {cpu:.1f}s  peak {int(tv['Maximum resident set size (kbytes)']) / 2**20:.2f} GB  "
          f"load {os.getloadavg()[0]:.1f}")
    print("\n".join(l for l in r.stdout.splitlines() if "Done." in l or "ERROR" in l or "FAIL" in l))
    subprocess.run([sys.executable, str(ROOT / "bench/bench_dbt_path.py"), str(target), *a.path_args])
    if a.keep:
        shutil.copy2(wh, a.keep)


if __name__ == "__main__":
    main()
