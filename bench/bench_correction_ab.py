"""A/B one corrected return, back to back on identical copies: between source trees, dbt thread
counts, or both.

    .venv/bin/python bench/bench_correction_ab.py DATA_DIR --threads 4 2 --reps 2
    .venv/bin/python bench/bench_correction_ab.py DATA_DIR --tree A=/tmp/main-src --tree B=. --reps 2
    .venv/bin/python bench/bench_correction_ab.py - --tree A=/tmp/main-src=/tmp/dataA --tree B=.=/tmp/dataB

DATA_DIR is a data directory after a successful `destinations run` (e.g. bench_pipeline.py
--keep ...); it is never written. A tree is a source tree (e.g. `git archive <commit> | tar -x -C
DIR`, its dbt parse and numba kernel warmed once), run with this worktree's .venv and
PYTHONPATH=<tree>; the default is this worktree. Each trial (every tree x every thread count)
copies DATA_DIR, corrects one return (bench_pipeline's sex flip: on an already corrected directory
it flips the pupil back, an equally sized correction) and records that tree's code and dbt digests
as the last build's, so the run is the correction and not a full build (valid when the trees build
the same tables, which compare_marts.py proves). The disclosure engine's cache is keyed by its
code: when the trees' engines differ, give each tree a data directory its own code built
(LABEL=DIR=DATA_DIR), or its first correction recomputes every partition. Prints wall, CPU, peak
RSS, when the serving snapshot switched, the run's step times, dbt's own wall against the Dagster
step's, and dbt's critical path.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dbt_path import last_command_events  # noqa: E402
from bench_dbt_phases import phases  # noqa: E402
from bench_pipeline import ROOT, correct_one_return, measure, run_command, run_env  # noqa: E402

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
    try:
        reports = [e for e in last_command_events(target) if e["info"]["name"] == "ResourceReport"]
        return reports[-1]["data"]["command_wall_clock_time"] if reports else None
    except (OSError, ValueError, KeyError, IndexError):
        return None


def trial(data: Path, work: Path, src: Path, threads: str) -> dict:
    """One corrected return on a fresh copy of `data`, run by the code in `src`."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(data, work, symlinks=True)
    correct_one_return(work)
    env = run_env(work, src, DESTINATIONS_DBT_THREADS=threads)
    py = str(ROOT / ".venv/bin/python")
    subprocess.run([py, "-c", ADOPT], env=env, cwd=src, check=True)
    return measure(run_command(src), env, serving=work / "warehouse" / "serving", cwd=src)


# the models a correction waits on before the engine, shown by engine_start
SHOWN = ("int_careers__pupil_characteristics", "fsq_construct_scores", "neet_risk_rates",
         "fsq_construct_scores_published")


def engine_start(target: Path) -> str:
    """When the disclosure engine started, seconds after dbt's first node, and the seconds of the
    models in SHOWN (their run_results execution time)."""
    import json
    from datetime import datetime
    try:
        results = json.loads((target / "run_results.json").read_text())["results"]
    except (OSError, ValueError, KeyError):
        return "no run_results.json"

    def started(r: dict) -> float | None:
        t = [p for p in r.get("timing", []) if p["name"] == "execute"]
        return datetime.fromisoformat(t[0]["started_at"].rstrip("Z")).timestamp() if t else None
    starts = {r["unique_id"].split(".")[-1]: started(r) for r in results}
    first = min(t for t in starts.values() if t is not None)
    seconds = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results}
    engine = starts.get("int_disclosure__cells")
    shown = ", ".join(f"{m} {seconds[m]:.1f}s" for m in SHOWN if m in seconds)
    return f"engine started {engine - first:.1f}s after the first node; {shown}" if engine else shown


def report(r: dict, target: Path) -> None:
    steps = {}
    for line in r["out"].splitlines():
        m = re.match(r"\s+(\S[\w ]*?)\s{2,}([\d.]+)s$", line)
        if m:
            steps[m.group(1)] = float(m.group(2))
        if "Full build" in line or "rebuilt for" in line:
            print("   " + line.strip())
    print("   steps: " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items() if k != "total"))
    dw = dbt_wall(target)
    if dw is not None and "warehouse_models" in steps:
        print(f"   dbt command {dw:.1f}s of the warehouse_models step {steps['warehouse_models']:.1f}s")
    print("   " + phases(target))
    print("   " + engine_start(target))
    if r["rc"] != 0:
        print(r["out"][-3000:])
    subprocess.run([sys.executable, str(ROOT / "bench/bench_dbt_path.py"), str(target)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", help="the data directory (or - when every tree names its own)")
    ap.add_argument("--tree", action="append", default=[], metavar="LABEL=DIR[=DATA_DIR]",
                    help="a source tree to run, optionally on its own data directory (repeat; default: this worktree)")
    ap.add_argument("--threads", nargs="+", default=[os.environ.get("DESTINATIONS_DBT_THREADS", "4")])
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench-correction-ab"))
    ap.add_argument("--keep", type=Path, help="copy each trial's warehouse here as <label>-<threads>-<rep>.duckdb")
    a = ap.parse_args()
    trees = [(t.split("=") + [a.data])[:3] for t in a.tree] or [["this", str(ROOT), a.data]]
    for rep in range(a.reps):
        for label, src, data in trees:
            for th in a.threads:
                src_dir = Path(src).resolve()
                r = trial(Path(data), a.work, src_dir, th)
                load = os.getloadavg()
                print(f"rep {rep} {label} ({src_dir}) threads {th}: exit {r['rc']}  wall {r['wall']:6.1f}s  "
                      f"cpu {r['cpu']:6.1f}s  peak {r['peak'] / 2**30:.2f} GB  "
                      f"serving at {r['serving'] or float('nan'):6.1f}s  load {load[0]:.1f}/{load[1]:.1f}", flush=True)
                report(r, a.work / "warehouse" / "dbt" / "target")
                if a.keep:
                    a.keep.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(a.work / "warehouse" / "warehouse.duckdb", a.keep / f"{label}-{th}-{rep}.duckdb")
    shutil.rmtree(a.work, ignore_errors=True)


if __name__ == "__main__":
    main()
