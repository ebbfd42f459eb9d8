"""A/B one corrected return at a setting (e.g. dbt threads), back to back on identical copies.

    .venv/bin/python bench/bench_correction_ab.py DATA_DIR --threads 4 2 --reps 2

DATA_DIR is a data directory after a successful `destinations run` (e.g. bench_pipeline.py
--keep ...); it is never written. Each trial copies it, corrects one return (the bench's sex flip
in the same file: applied to an already corrected directory it flips the pupil back, an equally
sized correction), runs `destinations run` with DESTINATIONS_DBT_THREADS set, and prints wall,
CPU, peak RSS, when the serving snapshot switched, and dbt's critical path.
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import ROOT, correct_one_return, measure  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path)
    ap.add_argument("--threads", nargs="+", default=["4", "2"])
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench-correction-ab"))
    a = ap.parse_args()
    for rep in range(a.reps):
        for th in a.threads:
            shutil.rmtree(a.work, ignore_errors=True)
            shutil.copytree(a.data, a.work, symlinks=True)
            correct_one_return(a.work)
            env = {**os.environ, "DESTINATIONS_DATA_DIR": str(a.work), "DO_NOT_TRACK": "1",
                   "GX_ANALYTICS_ENABLED": "false", "DAGSTER_DISABLE_TELEMETRY": "1",
                   "DESTINATIONS_DBT_THREADS": th}
            r = measure([str(ROOT / ".venv/bin/destinations"), "run"], env, serving=a.work / "warehouse" / "serving")
            load = os.getloadavg()
            print(f"rep {rep} threads {th}: exit {r['rc']}  wall {r['wall']:6.1f}s  cpu {r['cpu']:6.1f}s  "
                  f"peak {r['peak'] / 2**30:.2f} GB  serving at {r['serving'] or float('nan'):6.1f}s  "
                  f"load {load[0]:.1f}/{load[1]:.1f}", flush=True)
            for line in r["out"].splitlines():
                if line.strip().startswith(("warehouse_models", "ingest returns", "load pipeline", "serving_snapshot",
                                            "marts_expectations", "documents")) or "step marts_expect" in line:
                    print("   " + line.strip())
            if r["rc"] != 0:
                print(r["out"][-2000:])
            subprocess.run([sys.executable, str(ROOT / "bench/bench_dbt_path.py"),
                            str(a.work / "warehouse" / "dbt" / "target")])
    shutil.rmtree(a.work, ignore_errors=True)


if __name__ == "__main__":
    main()
