"""A/B one corrected return between two versions of the code, back to back on identical copies.

    .venv/bin/python bench/bench_correction_code_ab.py DATA_DIR --a /tmp/main-src [--b .] --reps 2

DATA_DIR is a data directory after a successful `destinations run` (never written). A and B are
source trees (e.g. `git archive <commit> | tar -x -C DIR`, its dbt parse and numba kernel warmed
once); each runs with this worktree's .venv and PYTHONPATH=<tree>. Each trial copies DATA_DIR,
corrects one return (bench_pipeline's sex flip: on an already corrected directory it flips the
pupil back, an equally sized correction) and records that tree's code and dbt digests as the
last build's, so the run is the correction and not a full build (valid when both trees build the
same tables, which compare_marts.py proves). Prints wall, CPU, peak RSS, when the serving snapshot
switched, the run's step times, dbt's own wall against the Dagster step's, and dbt's critical path.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import ROOT, correct_one_return, measure  # noqa: E402

ADOPT = """
import json, sys
from pipelines.config import paths
from pipelines.lib import runstate
p = paths()
state = json.loads((p.warehouse_dir / "run_state.json").read_text())
groups = runstate.scan(p).groups
for g in runstate.REPO_GROUPS:
    state["inputs"]["groups"][g] = groups[g]
(p.warehouse_dir / "run_state.json").write_text(json.dumps(state))
"""


def dbt_wall(target: Path) -> float | None:
    """dbt's own wall seconds for the last command (its resource report in the JSON log)."""
    last = None
    try:
        for line in (target / "dbt.log").read_text().splitlines():
            if '"ResourceReport"' in line:
                last = json.loads(line)["data"]["command_wall_clock_time"]
    except (OSError, ValueError, KeyError):
        return None
    return last


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path)
    ap.add_argument("--a", type=Path, required=True, help="source tree A")
    ap.add_argument("--b", type=Path, default=ROOT, help="source tree B (default: this worktree)")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--threads", default=os.environ.get("DESTINATIONS_DBT_THREADS", "4"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench-correction-code-ab"))
    ap.add_argument("--keep", type=Path, help="copy each trial's warehouse here as <label>-<rep>.duckdb")
    a = ap.parse_args()
    for rep in range(a.reps):
        for label, src in (("A", a.a), ("B", a.b)):
            src = src.resolve()
            shutil.rmtree(a.work, ignore_errors=True)
            shutil.copytree(a.data, a.work, symlinks=True)
            correct_one_return(a.work)
            env = {**os.environ, "DESTINATIONS_DATA_DIR": str(a.work), "DO_NOT_TRACK": "1",
                   "GX_ANALYTICS_ENABLED": "false", "DAGSTER_DISABLE_TELEMETRY": "1",
                   "DESTINATIONS_DBT_THREADS": a.threads, "PYTHONPATH": str(src)}
            env.pop("DAGSTER_HOME", None)
            py = str(ROOT / ".venv/bin/python")
            subprocess.run([py, "-c", ADOPT], env=env, cwd=src, check=True)
            here = os.getcwd()
            os.chdir(src)      # `python -m` puts the working folder first on sys.path
            try:
                r = measure([py, "-m", "pipelines.cli", "run"], env, serving=a.work / "warehouse" / "serving")
            finally:
                os.chdir(here)
            load = os.getloadavg()
            print(f"rep {rep} {label} ({src}): exit {r['rc']}  wall {r['wall']:6.1f}s  cpu {r['cpu']:6.1f}s  "
                  f"peak {r['peak'] / 2**30:.2f} GB  serving at {r['serving'] or float('nan'):6.1f}s  "
                  f"load {load[0]:.1f}/{load[1]:.1f}", flush=True)
            steps = {}
            for line in r["out"].splitlines():
                m = re.match(r"\s+(\S[\w ]*?)\s{2,}([\d.]+)s$", line)
                if m:
                    steps[m.group(1)] = float(m.group(2))
                if "Full build" in line or "rebuilt for" in line:
                    print("   " + line.strip())
            target = a.work / "warehouse" / "dbt" / "target"
            dw = dbt_wall(target)
            print("   steps: " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items() if k != "total"))
            if dw is not None and "warehouse_models" in steps:
                print(f"   dbt command {dw:.1f}s of the warehouse_models step {steps['warehouse_models']:.1f}s")
            if r["rc"] != 0:
                print(r["out"][-3000:])
            subprocess.run([sys.executable, str(ROOT / "bench/bench_dbt_path.py"), str(target)])
            if a.keep:
                a.keep.mkdir(parents=True, exist_ok=True)
                shutil.copy2(a.work / "warehouse" / "warehouse.duckdb", a.keep / f"{label}-{rep}.duckdb")
    shutil.rmtree(a.work, ignore_errors=True)


if __name__ == "__main__":
    main()
