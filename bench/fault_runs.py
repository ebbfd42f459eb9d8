"""Fault injection: kill `destinations run` with SIGKILL at random points and check the next run.

    .venv/bin/python bench/fault_runs.py [--kills 20] [--workers 2] [--academies 3] [--years 1]
                                         [--seed 7] [--keep DIR] [--report FILE.md] [--no-corrupt]

Setup (once): a small synthetic trust is built clean (state A), its serving snapshot is kept as
reference A; one return is corrected (state B: the first pupil's sex flipped), a clean run
builds it and its snapshot is kept as reference B. Each worker gets a copy of that data
directory; all workers share one persistent Dagster instance (config/dagster.yaml), where a
killed run used to keep a pool slot that blocked every later run.

Each trial toggles the return between A and B, starts `destinations run`, and SIGKILLs its
whole process group (dbt included) at a random point of one phase (ingest, dbt, publish,
report, in turn), found from the run's progress lines (`ingest returns ...`, `step
warehouse_models started`, `step serving_snapshot started`, `step trustee_report started`).
The phase actually hit is read from the last progress line before the kill. Then
`destinations run` runs again, unattended: it must exit 0 within the time limit, and its
serving snapshot must equal the reference of the same state, mart by mart (EXCEPT ALL both
ways; doubles to 9 decimals, DuckDB's parallel sums can differ in the last bit; timestamps
left out, they are file landing and build times).

Meanwhile a poller per worker reads the serving snapshot as the dashboard does
(dashboards.lib.data.serving_dir resolves the link once, then serving_contract.Snapshot.read
for every mart the dashboard declares, pyarrow for the rest) and checks each file's rows
against that version's manifest: a missing or unreadable file, a manifest that disagrees
with its files, or a file not in the manifest is a finding.

Last, a damaged warehouse (truncated to a third) must be moved aside and rebuilt from raw/
with a message, with marts identical again. Prints the table (and writes it with --report);
exits 1 if any trial failed or the poller saw a problem.
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
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PHASES = ("ingest", "dbt", "publish", "report")
DEFAULT_TIMEOUT = 3600
RUN_TIMEOUT = DEFAULT_TIMEOUT     # --timeout: a run after a kill that takes longer counts as hung
# progress line -> the phase a kill after it hits
MARKERS = (
    ("] check warehouse", "start"), ("] scan inputs", "start"), ("] ingest returns", "ingest"),
    ("] load pipeline definitions", "definitions"), ("] build ", "build"),
    ("step compass_evaluations started", "ingest"), ("step fsq_ingest started", "ingest"),
    ("step academies", "ingest"),
    ("step warehouse_models started", "dbt"), ("step warehouse_models done", "checks"),
    ("step serving_snapshot started", "publish"), ("step serving_snapshot done", "after publish"),
    ("step governor_packs started", "report"), ("step public_statements started", "report"),
    ("step trustee_report started", "report"),
)
# where each planned phase arms its kill, and the longest random delay after that line
ARM = {"ingest": ("] ingest returns", 2.5), "dbt": ("step warehouse_models started", 60.0),
       "publish": ("step serving_snapshot started", 2.0), "report": ("step trustee_report started", 10.0)}

DAGSTER_HOME: Path | None = None   # a persistent instance (config/dagster.yaml), set by main()
ARGS = None


def env_for(data: Path) -> dict:
    env = {**os.environ, "DESTINATIONS_DATA_DIR": str(data), "DO_NOT_TRACK": "1",
           "GX_ANALYTICS_ENABLED": "false", "DAGSTER_DISABLE_TELEMETRY": "1", "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("DAGSTER_HOME", None)
    if DAGSTER_HOME is not None:
        env["DAGSTER_HOME"] = str(DAGSTER_HOME)
    return env


def command(*args: str) -> list[str]:
    """`destinations ...` of this checkout (a frozen copy works too: PYTHONPATH points at it)."""
    return [sys.executable, "-m", "pipelines.cli", *args]


def destinations(data: Path, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    timeout = timeout or RUN_TIMEOUT
    try:
        return subprocess.run(command(*args), env=env_for(data), capture_output=True, text=True,
                              timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return subprocess.CompletedProcess(exc.cmd, -1, out + f"\nTIMEOUT after {timeout:.0f}s (hung?)", "")


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


LANDED: float | None = None    # the trial return's landing time (mtime), the same in every state


def put(path: Path, data: bytes) -> None:
    """Write a version of the trial return, keeping its landing time: timeliness ('late' or
    'on_time') and submission times come from it, and the references were built with it."""
    path.write_bytes(data)
    if LANDED is not None:
        os.utime(path, (LANDED, LANDED))


def snapshot_dir(where: Path) -> Path:
    """A data directory's current serving folder, or a kept snapshot folder itself."""
    from pipelines.lib.publish import resolve_snapshot
    serving = where / "warehouse" / "serving"
    return resolve_snapshot(serving) if serving.exists() or serving.is_symlink() else where


def mart_tables(where: Path) -> dict[str, str]:
    return {f.stem: str(f) for f in sorted(snapshot_dir(where).glob("*.parquet"))}


def differences(a: Path, b: Path) -> dict[str, tuple[int, int]]:
    """Marts whose rows differ between two snapshots (data directories or kept snapshot folders):
    EXCEPT ALL both ways; (-1, -1) when a mart is in one only."""
    import duckdb
    ta, tb = mart_tables(a), mart_tables(b)
    out: dict[str, tuple[int, int]] = {}
    con = duckdb.connect()
    for name in sorted(set(ta) | set(tb)):
        if name not in ta or name not in tb:
            out[name] = (-1, -1)
            continue
        cols = con.execute(f"describe select * from '{ta[name]}'").fetchall()
        # timestamps are when a file landed or a row was built, not something the pipeline computes
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


def keep_snapshot(data: Path, to: Path) -> Path:
    shutil.rmtree(to, ignore_errors=True)
    shutil.copytree(snapshot_dir(data), to)
    return to


class Poller(threading.Thread):
    """Reads the serving snapshot as the dashboard does, as fast as it can, and records problems."""

    def __init__(self, data: Path):
        super().__init__(daemon=True)
        self.data, self.stop, self.reads, self.problems = data, threading.Event(), 0, []

    def read_once(self) -> None:
        import pyarrow.parquet as pq

        from dashboards.lib.data import serving_dir
        from pipelines.lib import serving_contract as contract
        root = serving_dir(self.data)                       # resolved once, as a page load does
        if not root.is_dir():
            raise FileNotFoundError(f"serving points at a missing folder {root}")
        man = json.loads((root / "_manifest.json").read_text())
        if man.get("version") and not root.name.endswith(man["version"]):
            raise ValueError(f"{root.name}: manifest of version {man['version']}")
        snap = contract.Snapshot(root)
        for table, rows in man["tables"].items():
            base = table.removesuffix(contract.PUBLISHED_SUFFIX)
            if base in contract.USES:
                t = snap.read(table)
                if t is None:
                    raise FileNotFoundError(f"{root.name}/{table}.parquet is in the manifest but missing")
                n = t.num_rows
            else:
                n = pq.read_table(root / f"{table}.parquet").num_rows
            if n != rows:
                raise ValueError(f"{root.name}/{table}: {n} rows, manifest says {rows}")
        extra = {f.stem for f in root.glob("*.parquet")} - set(man["tables"])
        if extra:
            raise ValueError(f"{root.name}: files not in its manifest: {sorted(extra)}")

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.read_once()
                self.reads += 1
            except Exception as exc:  # noqa: BLE001 - every problem is a finding
                self.problems.append(f"{time.strftime('%H:%M:%S')} {type(exc).__name__}: {exc}")
            time.sleep(0.05)


def phase_of(lines: list[str]) -> str:
    last = "start"
    for line in lines:
        for marker, phase in MARKERS:
            if marker in line:
                last = phase
    return last


def run_and_kill(data: Path, phase: str, rng: random.Random) -> dict:
    """Start a run, SIGKILL its process group at a random point of `phase`."""
    serving = data / "warehouse" / "serving"
    proc = subprocess.Popen(command("run"), env=env_for(data), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(proc.stdout), daemon=True)
    reader.start()
    t0 = time.monotonic()
    marker, longest = ARM[phase]
    delay = rng.uniform(0.0, longest)
    armed_at = None
    while proc.poll() is None and time.monotonic() - t0 < RUN_TIMEOUT:
        if armed_at is None and any(marker in line for line in list(seen)):
            armed_at = time.monotonic()
        elif armed_at is not None and time.monotonic() - armed_at >= delay:
            lines = list(seen)
            partial = bool(list(serving.parent.glob(".serving.*.partial")))
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            hit = phase_of(lines)
            return {"killed": True, "hit": hit + (" (partial snapshot folder on disk)" if partial else ""),
                    "kill_s": round(time.monotonic() - t0, 1), "after_marker_s": round(delay, 1),
                    "last_line": lines[-1].strip()[:120] if lines else ""}
        time.sleep(0.02)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return {"killed": False, "hit": f"MISSED: run ended (exit {proc.returncode}) before the {phase} kill point",
            "kill_s": round(time.monotonic() - t0, 1), "after_marker_s": round(delay, 1), "last_line": ""}


@dataclass
class Trial:
    n: int
    worker: int
    state: str
    planned: str
    hit: str = ""
    kill_s: float = 0.0
    killed: bool = False
    next_rc: int | None = None
    next_s: float = 0.0
    identical: bool = False
    diff: dict = field(default_factory=dict)
    poller_reads: int = 0
    poller_problems: int = 0
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.killed and self.next_rc == 0 and self.identical and not self.poller_problems


def worker(w: int, data: Path, trials: list[Trial], refs: dict[str, Path], rel: Path,
           content: dict[str, bytes], seed: int, print_lock: threading.Lock, poller: Poller) -> None:
    rng = random.Random(seed * 1000 + w)
    for t in trials:
        put(data / rel, content[t.state])
        reads0, problems0 = poller.reads, len(poller.problems)
        k = run_and_kill(data, t.planned, rng)
        t.killed, t.hit, t.kill_s = k["killed"], k["hit"], k["kill_s"]
        t0 = time.monotonic()
        r = destinations(data, "run")
        t.next_s = round(time.monotonic() - t0, 1)
        t.next_rc = r.returncode
        if r.returncode == 0:
            t.diff = differences(data, refs[t.state])
            t.identical = not t.diff
        else:
            t.note = r.stdout[-1500:]
        t.poller_reads, t.poller_problems = poller.reads - reads0, len(poller.problems) - problems0
        with print_lock:
            if ARGS is not None and ARGS.report:
                with ARGS.report.with_suffix(".jsonl").open("a") as fh:
                    fh.write(json.dumps(asdict(t)) + "\n")
            print(f"trial {t.n:2d} (w{w}, {t.planned:7s}): kill at {t.kill_s:6.1f}s in {t.hit}; next run exit "
                  f"{t.next_rc} in {t.next_s:.0f}s; marts {'identical to clean ' + t.state if t.identical else t.diff}; "
                  f"poller {t.poller_reads} reads, {t.poller_problems} problems"
                  + ("" if t.next_rc == 0 else "\n" + t.note), flush=True)


def table(trials: list[Trial]) -> str:
    out = ["| trial | worker | phase aimed at | phase hit | kill at (s) | next run rc | next run (s) | "
           "marts identical | poller reads | poller mixed/unreadable |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for t in trials:
        out.append(f"| {t.n} | {t.worker} | {t.planned} | {t.hit} | {t.kill_s} | {t.next_rc} | {t.next_s} | "
                   f"{'y' if t.identical else 'n ' + json.dumps(t.diff)} | {t.poller_reads} | {t.poller_problems} |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2, help="trial data directories run side by side")
    ap.add_argument("--academies", type=int, default=3)
    ap.add_argument("--years", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", type=Path)
    ap.add_argument("--report", type=Path, help="write the table (markdown) and results (json) here")
    ap.add_argument("--no-corrupt", action="store_true", help="skip the damaged-warehouse trial")
    ap.add_argument("--disk-full", action="store_true", help="also a run on a full disk (tmpfs; needs root)")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds before a run counts as hung")
    ap.add_argument("--start", type=int, default=1, help="number of the first trial (phases rotate from it)")
    ap.add_argument("--reuse", type=Path, help="the --keep folder of an earlier invocation: reuse its clean "
                                               "base, references and Dagster instance (no setup runs)")
    args = ap.parse_args()
    global ARGS, RUN_TIMEOUT
    ARGS = args
    RUN_TIMEOUT = args.timeout
    work = args.keep or Path(tempfile.mkdtemp(prefix="fault_runs_"))
    work.mkdir(parents=True, exist_ok=True)
    global DAGSTER_HOME
    if args.reuse:
        DAGSTER_HOME = args.reuse / "dagster_home"
        base = args.reuse / "base"
        rel = return_file(base).relative_to(base)
        global LANDED
        LANDED = (base / rel).stat().st_mtime
        content = {"B": (base / rel).read_bytes()}
        content["A"] = version_b(content["B"])        # the flip undoes itself
        refs = {"A": args.reuse / "ref_A", "B": args.reuse / "ref_B"}
        print(f"reusing the clean base and references of {args.reuse}", flush=True)
    else:
        base, rel, content, refs = setup(work)
    return trials_and_report(args, work, base, rel, content, refs)


def setup(work: Path):
    from pipelines.lib.generate import generate_trust
    global DAGSTER_HOME
    args = ARGS
    DAGSTER_HOME = work / "dagster_home"
    shutil.rmtree(DAGSTER_HOME, ignore_errors=True)
    DAGSTER_HOME.mkdir()
    shutil.copy(ROOT / "config" / "dagster.yaml", DAGSTER_HOME / "dagster.yaml")

    base = work / "base"
    shutil.rmtree(base, ignore_errors=True)
    generate_trust(base, academies=args.academies, years=args.years, seed=args.seed)
    rel = return_file(base).relative_to(base)
    global LANDED
    LANDED = (base / rel).stat().st_mtime
    content = {"A": (base / rel).read_bytes()}
    content["B"] = version_b(content["A"])
    refs: dict[str, Path] = {}
    t = time.monotonic()
    r = destinations(base, "run")
    assert r.returncode == 0, r.stdout[-3000:]
    refs["A"] = keep_snapshot(base, work / "ref_A")
    print(f"clean full run, state A: {time.monotonic() - t:.0f}s", flush=True)
    put(base / rel, content["B"])
    t = time.monotonic()
    r = destinations(base, "run")
    assert r.returncode == 0, r.stdout[-3000:]
    refs["B"] = keep_snapshot(base, work / "ref_B")
    diff_ab = differences(refs["A"], refs["B"])
    print(f"clean run, state B (one corrected return): {time.monotonic() - t:.0f}s; marts that differ A vs B: "
          f"{sorted(diff_ab)}", flush=True)
    assert diff_ab, "the corrected return must change some mart, or the trials prove nothing"
    return base, rel, content, refs


def disk_full(base: Path, rel: Path, content: dict[str, bytes], refs: dict[str, Path], work: Path) -> dict:
    """A real full disk: the warehouse folder on a tmpfs with ~3 MB to spare (needs root for mount).
    The failed run's summary must name "No space left on device"; with room again, the next run
    must finish with marts identical to the clean reference."""
    data = work / "diskfull"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(base, data, symlinks=True)
    wdir = data / "warehouse"
    used = sum(f.stat().st_size for f in wdir.rglob("*") if f.is_file() and not f.is_symlink())
    held = wdir.with_name("warehouse.held")
    os.rename(wdir, held)
    wdir.mkdir()
    size_kb = used // 1024 + 3 * 1024
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(wdir)],
                           capture_output=True, text=True)
    if mount.returncode != 0:
        os.rmdir(wdir)
        os.rename(held, wdir)
        return {"skipped": f"cannot mount a tmpfs: {mount.stderr.strip()}"}
    try:
        subprocess.run(["cp", "-a", f"{held}/.", str(wdir)], check=True)
        put(data / rel, content["A"])
        t = time.monotonic()
        r = destinations(data, "run")
        failed = {"rc": r.returncode, "seconds": round(time.monotonic() - t, 1),
                  "summary": r.stdout[r.stdout.find("The run did not complete cleanly"):][:1500]}
        failed["names_cause"] = "No space left on device" in failed["summary"]
        print(f"full disk, the failed run: exit {failed['rc']} in {failed['seconds']:.0f}s; "
              f"{failed['summary'] or r.stdout[-1500:]}", flush=True)
        subprocess.run(["mount", "-o", f"remount,size={size_kb + 512 * 1024}k", str(wdir)], check=True)
        t = time.monotonic()
        r = destinations(data, "run")
        diff = differences(data, refs["A"]) if r.returncode == 0 else {"run failed": r.stdout[-1500:]}
        return {"failed_run": failed, "next_rc": r.returncode, "next_seconds": round(time.monotonic() - t, 1),
                "identical": not diff, "diff": diff}
    finally:
        subprocess.run(["umount", "-l", str(wdir)], capture_output=True)


def trials_and_report(args, work: Path, base: Path, rel: Path, content: dict[str, bytes],
                      refs: dict[str, Path]) -> int:
    trials = [Trial(n=args.start + i, worker=i % args.workers + 1, state="",
                    planned=PHASES[(args.start - 1 + i) % len(PHASES)]) for i in range(args.kills)]
    datas, pollers, threads = {}, {}, []
    lock = threading.Lock()
    for w in range(1, args.workers + 1):
        mine = [tr for tr in trials if tr.worker == w]
        state = "B"
        for tr in mine:
            state = "A" if state == "B" else "B"
            tr.state = state
        datas[w] = work / f"trial{w}"
        shutil.rmtree(datas[w], ignore_errors=True)
        shutil.copytree(base, datas[w], symlinks=True)
        pollers[w] = Poller(datas[w])
        pollers[w].start()
        threads.append(threading.Thread(target=worker, args=(w, datas[w], mine, refs, rel, content, args.seed,
                                                             lock, pollers[w])))
    full: dict = {}
    disk_thread = None
    if args.disk_full:      # side by side with the trials
        disk_thread = threading.Thread(target=lambda: full.update(disk_full(base, rel, content, refs, work)))
        disk_thread.start()
    t = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    print(f"{args.kills} trials in {time.monotonic() - t:.0f}s", flush=True)

    corrupt = None
    if not args.no_corrupt:
        # a damaged warehouse file: moved aside and rebuilt from raw/, with a message
        data = datas[1]
        state = next(tr.state for tr in reversed(trials) if tr.worker == 1) if args.kills else "B"
        wh = data / "warehouse" / "warehouse.duckdb"
        os.truncate(wh, wh.stat().st_size // 3)
        t = time.monotonic()
        r = destinations(data, "run")
        diff = differences(data, refs[state]) if r.returncode == 0 else {"run failed": r.stdout[-1500:]}
        said = "could not be read" in r.stdout
        corrupt = {"rc": r.returncode, "seconds": round(time.monotonic() - t, 1), "said_so": said, "diff": diff}
        print(f"corrupt warehouse (truncated to a third): exit {r.returncode} in {corrupt['seconds']:.0f}s, "
              f"{'said so' if said else 'NO MESSAGE'}; marts {'identical to clean ' + state if not diff else diff}",
              flush=True)
    if disk_thread is not None:
        disk_thread.join()
        print(f"full disk: {json.dumps(full, indent=1)}", flush=True)
    for p in pollers.values():
        p.stop.set()
        p.join()
    reads = sum(p.reads for p in pollers.values())
    problems = [x for p in pollers.values() for x in p.problems]
    failed = [tr for tr in trials if not tr.ok]
    corrupt_ok = corrupt is None or (corrupt["rc"] == 0 and corrupt["said_so"] and not corrupt["diff"])
    md = table(trials)
    print(md)
    print(f"poller: {reads} complete snapshot reads, {len(problems)} problems")
    for x in problems[:20]:
        print(f"  {x}")
    hit = {ph: sum(1 for tr in trials if tr.killed and tr.hit.startswith(ph)) for ph in PHASES}
    print(f"{sum(tr.killed for tr in trials)} kills ({', '.join(f'{k} {v}' for k, v in hit.items())}), "
          f"{len(failed)} failed trials; damaged warehouse {'ok' if corrupt_ok else 'FAILED'}")
    if args.report:
        args.report.write_text(md + f"\n\npoller: {reads} reads, {len(problems)} problems\n"
                               + "".join(f"- {x}\n" for x in problems[:50]))
        args.report.with_suffix(".json").write_text(json.dumps(
            {"trials": [asdict(tr) for tr in trials], "corrupt": corrupt, "disk_full": full, "poller_reads": reads,
             "poller_problems": problems}, indent=1))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    full_ok = not args.disk_full or "skipped" in full or (
        full["failed_run"]["rc"] != 0 and full["failed_run"]["names_cause"] and full["next_rc"] == 0
        and full["identical"])
    return 1 if failed or problems or not corrupt_ok or not full_ok else 0


if __name__ == "__main__":
    sys.exit(main())
