"""Benchmark: read every file of the hostile corpus, each in a fresh process; peak memory and time.

    .venv/bin/python bench/bench_intake.py [NAME ...]

For each file: size on disk, what the intake decided (rule), wall time of `read_return`, and the
process's peak resident memory (ru_maxrss) minus the same process's peak before reading.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from tests.intake import hostile as H
from pipelines.lib.returns.reader import read_return
import polars, fastexcel  # warm imports: not the file's cost
data = H.corpus_files(only=[sys.argv[2]])[sys.argv[2]]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
r = read_return(data, sys.argv[2])
dt = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rule = next((p.rule for p in r.problems if p.severity == "file"), "read")
print(json.dumps({"bytes": len(data), "rule": rule, "rows": 0 if r.table is None else r.table.height,
                  "seconds": round(dt, 2), "peak_mb": round(peak / 1024), "read_mb": round((peak - base) / 1024)}))
"""


def main(names: list[str]) -> None:
    from tests.intake import hostile as H

    names = names or list(H.CORPUS)
    print(f"{'file':32} {'bytes':>10} {'outcome':22} {'rows':>7} {'s':>6} {'peak MB':>8} {'+MB':>6}")
    for n in names:
        out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), n], capture_output=True, text=True)
        if out.returncode:
            print(f"{n:32} CRASHED rc={out.returncode} {out.stderr[-300:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{n:32} {r['bytes']:>10,} {r['rule']:22} {r['rows']:>7,} {r['seconds']:>6} {r['peak_mb']:>8} {r['read_mb']:>6}")


if __name__ == "__main__":
    main(sys.argv[1:])
