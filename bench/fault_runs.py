"""Fault injection: kill `destinations run` with SIGKILL at random points and check the next run.

    .venv/bin/python bench/fault_runs.py [--kills 20] [--academies 4] [--years 2] [--seed 7] [--keep DIR]

For each trial the script changes one return (toggling it between two versions, A and B), starts
`destinations run`, kills its whole process group (dbt included) during ingest, dbt, publish or
the trustee report, then runs `destinations run` again unattended. That run must finish (exit 0,
within a time limit, no hang on a dead run's lock) and its marts must equal a clean run over the
same landing zone (EXCEPT ALL both ways; doubles compared to 9 decimals, since DuckDB's parallel
sums can differ in the last bit; submission timestamps left out, they are file landing times).
`_published` marts are compared like every other mart (their row ids and suppression tie-breaks
are ordered by the grain, so clean runs agree). Meanwhile a poller reads the serving snapshot the way the
dashboard does (resolve the link once, read the manifest and every file) and records any
unreadable file or a manifest that disagrees with the files. Prints one line per trial and a
summary; exits 1 if any trial failed.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PHASES = ("ingest", "dbt", "publish", "report")
RUN_TIMEOUT = 1800


DAGSTER_HOME: Path | None = None   # a persistent instance (config/dagster.yaml), set by main()


def env_for(data: Path) -> dict:
    env = {**os.environ, "DESTINATIONS_DATA_DIR": str(data), "DO_NOT_TRACK": "1",
           "GX_ANALYTICS_ENABLED": "false", "DAGSTER_DISABLE_TELEMETRY": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("DAGSTER_HOME", None)
    if DAGSTER_HOME is not None:
        env["DAGSTER_HOME"] = str(DAGSTER_HOME)
    return env


def destinations(data: Path, *args: str, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / ".venv" / "bin" / "destinations"), *args], env=env_for(data),
                          capture_output=True, text=True, timeout=timeout)


def return_file(data: Path) -> Path:
    """The latest actual (R3) return of the first academy: the one the trials correct."""
    files = sorted(f for f in (data / "raw" / "returns").glob("*/*/R3/*.csv")
                   if f.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace").split(",").count("sex") == 1)
    latest = max(f.parent.parent.name for f in files)
    return next(f for f in files if f.parent.parent.name == latest)


def version_b(original: bytes) -> bytes:
    """The 'corrected' return: the first pupil's sex flipped (valid, and changes the marts)."""
    lines = original.split(b"\n")
    head = lines[0].decode().split(",")
    i = head.index("sex")
    cells = lines[1].decode().split(",")
    cells[i] = "M" if cells[i] == "F" else "F"
    lines[1] = ",".join(cells).encode()
    return b"\n".join(lines)


def mart_tables(data: Path) -> dict[str, str]:
    from pipelines.lib.publish import resolve_snapshot
    d = resolve_snapshot(data / "warehouse" / "serving")
    return {f.stem: str(f) for f in sorted(d.glob("*.parquet"))}


def differences(a: Path, b: Path) -> dict[str, tuple[int, int]]:
    """Marts whose rows differ between two data directories' serving snapshots (EXCEPT ALL both ways)."""
    import duckdb
    ta, tb = mart_tables(a), mart_tables(b)
    out: dict[str, tuple[int, int]] = {}
    con = duckdb.connect()
    for name in sorted(set(ta) | set(tb)):
        if name not in ta or name not in tb:
            out[name] = (-1, -1)
            continue
        cols = con.execute(f"describe select * from '{ta[name]}'").fetchall()
        # submission times are when a file landed (its mtime), not something the pipeline computes
        sel = ", ".join(f'round("{c}", 9) as "{c}"' if t in ("DOUBLE", "FLOAT") else f'"{c}"'
                        for c, t, *_ in cols if not t.startswith("TIMESTAMP"))
        x = con.execute(f"select count(*) from (select {sel} from '{ta[name]}' except all "
                        f"select {sel} from '{tb[name]}')").fetchone()[0]
        y = con.execute(f"select count(*) from (select {sel} from '{tb[name]}' except all "
                        f"select {sel} from '{ta[name]}')").fetchone()[0]
        if x or y:
            out[name] = (x, y)
    con.close()
    return out


class Poller(threading.Thread):
    """Reads the serving snapshot as the dashboard does, as fast as it can, and records problems."""

    def __init__(self, serving: Path):
        super().__init__(daemon=True)
        self.serving, self.stop, self.reads, self.problems = serving, threading.Event(), 0, []

    def run(self) -> None:
        import pyarrow.parquet as pq

        from pipelines.lib.publish import resolve_snapshot
        while not self.stop.is_set():
            try:
                d = resolve_snapshot(self.serving)
                if not d.is_dir():
                    raise FileNotFoundError(f"serving points at a missing folder {d}")
                man = json.loads((d / "_manifest.json").read_text())
                for table, rows in man["tables"].items():
                    n = pq.ParquetFile(d / f"{table}.parquet").metadata.num_rows
                    if n != rows:
                        raise ValueError(f"{d.name}/{table}: {n} rows, manifest says {rows}")
                extra = {f.stem for f in d.glob("*.parquet")} - set(man["tables"])
                if extra:
                    raise ValueError(f"{d.name}: files not in its manifest: {sorted(extra)}")
                self.reads += 1
            except Exception as exc:  # noqa: BLE001 - every problem is a finding
                self.problems.append(f"{time.strftime('%H:%M:%S')} {type(exc).__name__}: {exc}")
            time.sleep(0.05)


def run_and_kill(data: Path, phase: str, rng: random.Random) -> tuple[bool, str]:
    """Start a run, SIGKILL its process group at a random point of `phase`. (killed?, where)."""
    serving = data / "warehouse" / "serving"
    before = os.path.realpath(serving)
    reports = data / "reports"
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "destinations"), "run"], env=env_for(data),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(proc.stdout), daemon=True)
    reader.start()
    t0 = time.monotonic()
    delay = rng.uniform(0.0, {"ingest": 1.5, "dbt": 12.0, "publish": 0.0, "report": 2.0}[phase])
    armed_at = None
    where = ""
    while proc.poll() is None and time.monotonic() - t0 < RUN_TIMEOUT:
        text = "".join(seen)
        if armed_at is None:
            if phase == "ingest" and "ingest returns" in text:
                armed_at, where = time.monotonic(), "ingest"
            elif phase == "dbt" and "Running with dbt" in text:
                armed_at, where = time.monotonic(), "dbt"
            elif phase == "publish" and list(serving.parent.glob(".serving.*.partial")):
                armed_at, where = time.monotonic(), "publish (partial snapshot folder written)"
            elif phase == "report" and os.path.realpath(serving) != before:
                armed_at, where = time.monotonic(), "report (after the new snapshot)"
        elif time.monotonic() - armed_at >= delay:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True, f"{where} +{delay:.1f}s"
        time.sleep(0.02)
    proc.wait()
    return False, f"run ended before the {phase} kill point (exit {proc.returncode})"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--academies", type=int, default=4)
    ap.add_argument("--years", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", type=Path)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = args.keep or Path(tempfile.mkdtemp(prefix="fault_runs_"))
    work.mkdir(parents=True, exist_ok=True)
    from pipelines.lib.generate import generate_trust

    data, ref_a, ref_b = work / "trial", work / "clean_a", work / "clean_b"
    for d in (data, ref_a, ref_b):
        shutil.rmtree(d, ignore_errors=True)
    generate_trust(data, academies=args.academies, years=args.years, seed=args.seed)
    shutil.copytree(data, ref_a, symlinks=True)
    shutil.copytree(data, ref_b, symlinks=True)
    rel = return_file(data).relative_to(data)
    content = {"A": (data / rel).read_bytes()}
    content["B"] = version_b(content["A"])
    (ref_b / rel).write_bytes(content["B"])
    t = time.monotonic()
    for ref in (ref_a, ref_b):
        r = destinations(ref, "run")
        assert r.returncode == 0, r.stdout[-3000:]
    print(f"clean runs A and B: {time.monotonic() - t:.0f}s; first trial run builds the trial directory")
    # the trial runs use a persistent Dagster instance, where a killed run used to hold a pool slot
    global DAGSTER_HOME
    DAGSTER_HOME = work / "dagster_home"
    DAGSTER_HOME.mkdir(exist_ok=True)
    shutil.copy(ROOT / "config" / "dagster.yaml", DAGSTER_HOME / "dagster.yaml")
    r = destinations(data, "run")
    assert r.returncode == 0, r.stdout[-3000:]

    poller = Poller(data / "warehouse" / "serving")
    poller.start()
    failures = 0
    state = "A"
    for i in range(args.kills):
        phase = PHASES[i % len(PHASES)]
        state = "B" if state == "A" else "A"
        (data / rel).write_bytes(content[state])
        killed, where = run_and_kill(data, phase, rng)
        t = time.monotonic()
        r = destinations(data, "run")
        secs = time.monotonic() - t
        diff = differences(data, ref_a if state == "A" else ref_b) if r.returncode == 0 else {}
        ok = r.returncode == 0 and not diff
        failures += not ok
        print(f"trial {i + 1:2d}: kill {'at ' + where if killed else 'MISSED: ' + where}; next run exit "
              f"{r.returncode} in {secs:.0f}s; marts {'identical to clean ' + state if not diff else diff}"
              + ("" if r.returncode == 0 else "\n" + r.stdout[-2000:]), flush=True)
    # a damaged warehouse file: moved aside and rebuilt from raw/, with a message
    wh = data / "warehouse" / "warehouse.duckdb"
    os.truncate(wh, wh.stat().st_size // 3)
    r = destinations(data, "run")
    diff = differences(data, ref_a if state == "A" else ref_b) if r.returncode == 0 else {}
    ok = r.returncode == 0 and "could not be read" in r.stdout and not diff
    failures += not ok
    print(f"corrupt warehouse (truncated): exit {r.returncode}, "
          f"{'said so' if 'could not be read' in r.stdout else 'NO MESSAGE'}; marts "
          f"{'identical to clean ' + state if not diff else diff}", flush=True)
    poller.stop.set()
    poller.join()
    print(f"poller: {poller.reads} complete snapshot reads, {len(poller.problems)} problems")
    for p in poller.problems[:20]:
        print(f"  {p}")
    print(f"{args.kills} kills, {failures} failed trials")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures or poller.problems else 0


if __name__ == "__main__":
    sys.exit(main())
