"""Fault injection: kill `destinations run` with SIGKILL at random points and check the next run.

    .venv/bin/python bench/fault_runs.py [--kills 20] [--workers 2] [--academies 3] [--years 1]
                                         [--seed 7] [--keep DIR] [--report FILE.md] [--no-corrupt]
                                         [--disk-full] [--reuse DIR] [--timeout S]

Setup (once): a small synthetic trust is built clean (state A); its serving snapshot and trustee
pack are kept as reference A. One return is corrected (state B: the first pupil's sex flipped)
and a clean run builds it: reference B. That second run is the same kind of run as every trial
(one changed return), so its progress lines also give each phase's length (calibration.json):
a kill aimed at a phase lands at a random point inside it, not after it. Each worker gets a copy
of that data directory; all workers share one persistent Dagster instance (config/dagster.yaml),
where a killed run used to keep a pool slot that blocked every later run.

Each trial toggles the return between A and B (keeping its landing time), starts `destinations
run`, and SIGKILLs its whole process group (dbt included) at a random point of one phase
(ingest, dbt, publish, report; every worker gets every phase), found from the run's progress
lines. The phase actually hit is read from the last progress line before the kill. Then:
- no process of that data directory may survive the kill;
- `destinations run` runs again, unattended: it must exit 0 within --timeout;
- its serving snapshot must equal the reference of the same state, mart by mart (EXCEPT ALL both
  ways; doubles to 9 decimals, DuckDB's parallel sums can differ in the last bit; timestamps left
  out, they are file landing and build times);
- the trustee pack must be built from that snapshot (marker = its version, PDF + XLSX, no
  leftover temporary file) and its summary must equal the reference pack's (build times left out);
- the run state must show nothing left to do (no changed input, nothing pending, a serving snapshot;
  a new day's dated models are not work left), and one more `destinations run` must exit 0.

Meanwhile a poller per worker loads every page's data as the dashboard does (its cache keyed by
file version, so a new version is always read; every tenth load cold, caches cleared):
dashboards.lib.data.serving_dir resolves the link once, then dashboards.lib.data.load
for a trust admin and a director for every mart the dashboard declares, pyarrow for the rest;
each table's rows must match that version's manifest. A missing or unreadable file, a manifest
that disagrees with its files or its folder, or a file not in the manifest is a finding.

Last, a damaged warehouse (truncated to a third) must be moved aside and rebuilt from raw/ with a
message, with marts identical again; with --disk-full (root: a tmpfs), a run on a full disk must
fail naming "No space left on device" and, with room again, the next run must finish identical.
Prints the table (and writes it with --report); exits 1 if any trial failed or the poller saw a
problem.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
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
    ("step documents started", "report"), ("step documents done", "after report"),
    ("step documents FAILED", "after report"),
)
# each phase: the progress line that starts it and the one that ends it
WINDOWS = {"ingest": ("] ingest returns", "] load pipeline definitions"),
           "dbt": ("step warehouse_models started", "step warehouse_models "),
           "publish": ("step serving_snapshot started", "step serving_snapshot "),
           "report": ("step documents started", "step documents ")}
# phase lengths (s) when no calibration run is at hand (an --reuse folder from an older script)
FALLBACK_WINDOWS = {"ingest": 1.0, "dbt": 30.0, "publish": 1.0, "report": 5.0}
MISS_RETRIES = 2   # a run that ended before its kill point is redone, aimed by its own phase length
STAMP = re.compile(r"^\[\s*([0-9.]+)s\]")

DAGSTER_HOME: Path | None = None   # a persistent instance (config/dagster.yaml), set by main()
ARGS = None
CALIBRATION: dict[str, float] = dict(FALLBACK_WINDOWS)


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
    """Run `destinations ...` to the end; on timeout its whole process group (dbt too) is killed,
    so a hung run cannot hold the warehouse for the next trial."""
    timeout = timeout or RUN_TIMEOUT
    proc = subprocess.Popen(command(*args), env=env_for(data), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return subprocess.CompletedProcess(proc.args, -1, (out or "") + f"\nTIMEOUT after {timeout:.0f}s (hung?)", "")


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


BUILD_DATED = ("as_of", "days_overdue")


def differences(a: Path, b: Path) -> dict[str, tuple[int, int]]:
    """Marts whose rows differ between two snapshots (data directories or kept snapshot folders):
    EXCEPT ALL both ways; (-1, -1) when a mart is in one only, (-2, -2) when the columns differ."""
    import duckdb
    ta, tb = mart_tables(a), mart_tables(b)
    out: dict[str, tuple[int, int]] = {}
    con = duckdb.connect()
    for name in sorted(set(ta) | set(tb)):
        if name not in ta or name not in tb:
            out[name] = (-1, -1)
            continue
        cols = con.execute(f"describe select * from '{ta[name]}'").fetchall()
        if [(c, t) for c, t, *_ in cols] != [(c, t) for c, t, *_ in
                                             con.execute(f"describe select * from '{tb[name]}'").fetchall()]:
            out[name] = (-2, -2)
            continue
        # timestamps are when a file landed or a row was built, not something the pipeline computes;
        # return_status's as_of is the build's date and days_overdue is as_of - due_date (due_date is
        # compared): a trial run after midnight is not a different answer
        sel = ", ".join(f'round("{c}", 9) as "{c}"' if t in ("DOUBLE", "FLOAT") else f'"{c}"'
                        for c, t, *_ in cols if not t.startswith("TIMESTAMP") and c not in BUILD_DATED)
        x = con.execute(f"select count(*) from (select {sel} from '{ta[name]}' except all "
                        f"select {sel} from '{tb[name]}')").fetchone()[0]
        y = con.execute(f"select count(*) from (select {sel} from '{tb[name]}' except all "
                        f"select {sel} from '{ta[name]}')").fetchone()[0]
        if x or y:
            out[name] = (x, y)
    con.close()
    return out


def left_to_do(data: Path) -> list[str]:
    """What a run on `data` would still build, read from the run state the runner keeps (not its
    messages): changed inputs, steps a failed or killed run left, a serving snapshot missing. A new
    day alone (the dated models) is not work left."""
    from pipelines import config as cfg
    from pipelines.lib import runstate
    p = cfg.paths(data)
    ch = runstate.diff(runstate.load(p), runstate.scan(p))
    out = ([f"full build ({ch.reason})"] if ch.full else []) + sorted(ch.groups) + sorted(ch.partitions)
    pending = runstate.load_pending(p)
    if pending:
        out.append("pending " + ", ".join(sorted(pending)))
    if not runstate.serving_ready(p):
        out.append("no serving snapshot")
    return out


def keep_snapshot(data: Path, to: Path) -> Path:
    shutil.rmtree(to, ignore_errors=True)
    shutil.copytree(snapshot_dir(data), to)
    if (data / "reports").is_dir():
        shutil.copytree(data / "reports", to / "_reports")
    return to


# build and file times in the pack's summary: not figures
_VOLATILE = re.compile(r"generated|_at$|time|seconds|path|file|version|snapshot", re.I)


def _figures(obj):
    """A pack summary without its build times, paths and snapshot versions."""
    if isinstance(obj, dict):
        return {k: _figures(v) for k, v in obj.items() if not _VOLATILE.search(str(k))}
    if isinstance(obj, list):
        return [_figures(v) for v in obj]
    return obj


def pack_problems(data: Path, ref: Path) -> list[str]:
    """The trustee pack after a run: built from the current snapshot, whole, the same figures as
    the reference pack of the same state."""
    from pipelines.lib.publish import read_manifest
    reports = data / "reports"
    out: list[str] = []
    version = read_manifest(data / "warehouse" / "serving").get("version", "")
    marker = reports / ".built_from_snapshot"
    built = marker.read_text().split() if marker.exists() else []
    if len(built) != 2 or built[1] != version:
        out.append(f"pack marker {built} is not the current snapshot {version}")
        return out
    year = built[0]
    for ext in ("pdf", "xlsx"):
        files = list((reports / year).glob(f"*.{ext}"))
        if not files or any(f.stat().st_size == 0 for f in files):
            out.append(f"no whole {ext} in reports/{year}")
    tmp = [str(f.relative_to(reports)) for f in reports.rglob("*.tmp")]
    if tmp:
        out.append(f"temporary files left: {tmp[:5]}")
    # the pack's summaries; not .built.json, the digest of its inputs (return_status holds load times)
    mine, theirs = ([f for f in sorted(d.glob("*.json")) if not f.name.startswith(".")]
                    for d in (reports / year, ref / "_reports" / year))
    if [f.name for f in mine] != [f.name for f in theirs]:
        out.append(f"pack files {[f.name for f in mine]} vs reference {[f.name for f in theirs]}")
    for a, b in zip(mine, theirs):
        if _figures(json.loads(a.read_text())) != _figures(json.loads(b.read_text())):
            out.append(f"{a.name} differs from the reference pack's")
    return out


def survivors(data: Path) -> list[int]:
    """Processes still running with this data directory (a kill must leave none)."""
    want = f"DESTINATIONS_DATA_DIR={data}".encode()
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if want in (d / "environ").read_bytes().split(b"\0"):
                    found.append(int(d.name))
            except OSError:
                continue
    return found


class Poller(threading.Thread):
    """Loads every page's data as the dashboard does, again and again; records problems."""

    def __init__(self, data: Path, pause: float = 0.1, cold_every: int = 10):
        super().__init__(daemon=True)
        self.data, self.pause, self.stop, self.reads, self.problems = data, pause, threading.Event(), 0, []
        self.cold_every = cold_every

    def read_once(self) -> None:
        import pyarrow.parquet as pq

        from dashboards.lib import data as dash
        from dashboards.lib.users import User
        from pipelines.lib import serving_contract as contract
        if self.reads % self.cold_every == 0:               # now and then a cold page load (a new
            with dash._CACHE_LOCK:                          # dashboard process): every file really read
                dash._CACHE.clear()
                dash._SCOPED.clear()
        root = dash.serving_dir(self.data)                  # resolved once, as a page load does
        if not root.is_dir():
            raise FileNotFoundError(f"serving points at a missing folder {root}")
        man = json.loads((root / "_manifest.json").read_text())
        if man.get("version") and not root.name.endswith(man["version"]):
            raise ValueError(f"{root.name}: manifest of version {man['version']}")
        rows = man["tables"]
        viewers = (User("fault-admin", "trust_admin"), User("fault-director", "director"))
        seen: set[str] = set()
        for base in sorted({t.removesuffix(contract.PUBLISHED_SUFFIX) for t in rows} & set(contract.USES)):
            for viewer in viewers:
                src = contract.source_for(base, viewer.role)
                got = dash.load(viewer, base, root)
                if src.whole is None:
                    continue
                if got.frame is None:
                    if src.whole in rows:
                        raise FileNotFoundError(f"{root.name}/{src.whole}: in the manifest, but the "
                                                f"{viewer.role} page got none ({got.reason})")
                    continue
                seen.add(src.whole)
                if src.whole in rows and len(got.frame) != rows[src.whole]:
                    raise ValueError(f"{root.name}/{src.whole}: the {viewer.role} page read {len(got.frame)} rows, "
                                     f"manifest says {rows[src.whole]}")
        for table in sorted(set(rows) - seen):
            n = pq.read_metadata(root / f"{table}.parquet").num_rows
            if n != rows[table]:
                raise ValueError(f"{root.name}/{table}: {n} rows, manifest says {rows[table]}")
        extra = {f.stem for f in root.glob("*.parquet")} - set(rows)
        if extra:
            raise ValueError(f"{root.name}: files not in its manifest: {sorted(extra)}")

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.read_once()
                self.reads += 1
            except Exception as exc:  # noqa: BLE001 - every problem is a finding
                self.problems.append(f"{time.strftime('%H:%M:%S')} {type(exc).__name__}: {exc}")
            time.sleep(self.pause)


def phase_of(lines: list[str]) -> str:
    last = "start"
    for line in lines:
        for marker, phase in MARKERS:
            if marker in line:
                last = phase
    return last


def phase_windows(out: str) -> dict[str, float]:
    """Each phase's length (s) in a run's progress lines (the calibration run)."""
    stamped = [(float(m.group(1)), line) for line in out.splitlines() if (m := STAMP.match(line.strip()))]
    found: dict[str, float] = {}
    for phase, (start, end) in WINDOWS.items():
        t0 = next((t for t, line in stamped if start in line), None)
        if t0 is None:
            continue
        t1 = next((t for t, line in stamped if t >= t0 and end in line and start not in line), None)
        if t1 is not None:
            found[phase] = max(t1 - t0, 0.1)
    return found


def run_and_kill(data: Path, phase: str, rng: random.Random, window: float | None = None) -> dict:
    """Start a run, SIGKILL its process group at a random point inside `phase` (5-90 % of its
    calibrated length, or of `window`, after the line that starts it)."""
    serving = data / "warehouse" / "serving"
    proc = subprocess.Popen(command("run"), env=env_for(data), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen: list[str] = []

    def read() -> None:
        for line in proc.stdout:
            seen.append(line)
    threading.Thread(target=read, daemon=True).start()
    t0 = time.monotonic()
    marker = WINDOWS[phase][0]
    delay = rng.uniform(0.05, 0.9) * (window or CALIBRATION.get(phase, FALLBACK_WINDOWS[phase]))
    armed_at = None
    while proc.poll() is None and time.monotonic() - t0 < RUN_TIMEOUT:
        if armed_at is None and any(marker in line for line in list(seen)):
            armed_at = time.monotonic()
        elif armed_at is not None and time.monotonic() - armed_at >= delay:
            partial = bool(list(serving.parent.glob(".serving.*.partial")))
            os.killpg(proc.pid, signal.SIGKILL)
            kill_s = time.monotonic() - t0
            proc.wait()
            time.sleep(0.3)                          # the reader thread drains what was written
            lines = list(seen)
            time.sleep(0.5)
            left = survivors(data)
            hit = phase_of(lines)
            return {"killed": True, "hit": hit + (" (partial snapshot folder on disk)" if partial else ""),
                    "kill_s": round(kill_s, 1), "after_marker_s": round(delay, 2), "survivors": left,
                    "last_line": lines[-1].strip()[:120] if lines else ""}
        time.sleep(0.02)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return {"killed": False, "hit": f"MISSED: run ended (exit {proc.returncode}) before the {phase} kill point",
            "kill_s": round(time.monotonic() - t0, 1), "after_marker_s": round(delay, 2), "survivors": [],
            "last_line": "".join(seen)[-300:], "window": phase_windows("".join(seen)).get(phase)}


@dataclass
class Trial:
    n: int
    worker: int
    state: str
    planned: str
    hit: str = ""
    kill_s: float = 0.0
    after_marker_s: float = 0.0
    killed: bool = False
    survivors: list = field(default_factory=list)
    next_rc: int | None = None
    next_s: float = 0.0
    next_notes: str = ""          # what the next run said about the killed one
    identical: bool = False
    diff: dict = field(default_factory=dict)
    pack: list = field(default_factory=list)
    settled: bool = False          # a third run found nothing to do
    poller_reads: int = 0
    poller_problems: int = 0
    note: str = ""

    @property
    def ok(self) -> bool:
        return (self.killed and not self.survivors and self.next_rc == 0 and self.identical and not self.pack
                and self.settled and not self.poller_problems)


def worker(w: int, data: Path, trials: list[Trial], refs: dict[str, Path], rel: Path,
           content: dict[str, bytes], seed: int, print_lock: threading.Lock, poller: Poller) -> None:
    rng = random.Random(seed * 1000 + w)
    for t in trials:
        put(data / rel, content[t.state])
        reads0, problems0 = poller.reads, len(poller.problems)
        k = run_and_kill(data, t.planned, rng)
        for _ in range(MISS_RETRIES):
            if k["killed"] or not k.get("window"):
                break
            # the run was quicker than the calibration run: undo its change with a clean run, then
            # aim again inside the phase length this run showed
            put(data / rel, content["A" if t.state == "B" else "B"])
            destinations(data, "run")
            put(data / rel, content[t.state])
            k = run_and_kill(data, t.planned, rng, window=k["window"])
        t.killed, t.hit, t.kill_s, t.after_marker_s = k["killed"], k["hit"], k["kill_s"], k["after_marker_s"]
        t.survivors = k["survivors"]
        t0 = time.monotonic()
        r = destinations(data, "run")
        t.next_s = round(time.monotonic() - t0, 1)
        t.next_rc = r.returncode
        said = [line.strip() for line in r.stdout.splitlines()
                if line.lstrip().startswith(("Waiting", "Marked ", "Changed since", "Full build", "The warehouse file"))]
        t.next_notes = " / ".join(said)[:300]
        if r.returncode == 0:
            t.diff = differences(data, refs[t.state])
            t.identical = not t.diff
            t.pack = pack_problems(data, refs[t.state])
            left = left_to_do(data)
            again = destinations(data, "run")
            # settled: the run state says nothing is left to build (past midnight the dated models,
            # return_status, are rebuilt by design) and the third run agrees
            t.settled = not left and again.returncode == 0
            if left:
                t.note = "left to do after the next run: " + "; ".join(left)
            if again.returncode:
                t.note = "third run: " + again.stdout[-1500:]
        else:
            t.note = r.stdout[-1500:]
        t.poller_reads, t.poller_problems = poller.reads - reads0, len(poller.problems) - problems0
        with print_lock:
            if ARGS is not None and ARGS.report:
                with ARGS.report.with_suffix(".jsonl").open("a") as fh:
                    fh.write(json.dumps(asdict(t)) + "\n")
            print(f"trial {t.n:2d} (w{w}, {t.state}, {t.planned:7s}): kill at {t.kill_s:6.1f}s "
                  f"(+{t.after_marker_s:.2f}s) in {t.hit}; survivors {t.survivors or 'none'}; next run exit "
                  f"{t.next_rc} in {t.next_s:.0f}s [{t.next_notes}]; marts "
                  f"{'identical to clean ' + t.state if t.identical else t.diff}; pack {t.pack or 'ok'}; "
                  f"then {'nothing to do' if t.settled else 'NOT SETTLED'}; "
                  f"poller {t.poller_reads} reads, {t.poller_problems} problems"
                  + ("" if t.ok else "\n" + t.note), flush=True)


def schedule(kills: int, workers: int, start: int = 1) -> list[Trial]:
    """Phases in turn (even counts), workers in turn; every worker meets every phase, and every
    phase is met in both states (a worker's trials alternate between A and B, so that each of
    its runs has a changed return to load)."""
    trials = []
    for i in range(start - 1, start - 1 + kills):
        trials.append(Trial(n=i + 1, worker=i % workers + 1, state="",
                            planned=PHASES[(i + i // (2 * workers)) % len(PHASES)]))
    for w in range(1, workers + 1):
        state = "B"                   # the base is in state B: a worker's first trial changes it
        for tr in (tr for tr in trials if tr.worker == w):
            state = "A" if state == "B" else "B"
            tr.state = state
    return trials


def table(trials: list[Trial]) -> str:
    out = ["| trial | worker | state | phase aimed at | phase hit | kill at (s) | next run rc | next run (s) | "
           "marts identical | pack | then nothing to do | poller reads | poller mixed/unreadable |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for t in trials:
        out.append(f"| {t.n} | {t.worker} | {t.state} | {t.planned} | {t.hit}"
                   f"{' SURVIVORS ' + str(t.survivors) if t.survivors else ''} | {t.kill_s} | {t.next_rc} | "
                   f"{t.next_s} | {'y' if t.identical else 'n ' + json.dumps(t.diff)} | "
                   f"{'ok' if not t.pack else '; '.join(t.pack)} | {'y' if t.settled else 'n'} | "
                   f"{t.poller_reads} | {t.poller_problems} |")
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
    ap.add_argument("--poll", type=float, default=0.5, help="seconds between two of a poller's page loads")
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
        cal = args.reuse / "calibration.json"
        if cal.exists():
            CALIBRATION.update(json.loads(cal.read_text()))
        print(f"reusing the clean base and references of {args.reuse}; phase lengths {CALIBRATION}", flush=True)
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
    (work / "run_B.log").write_text(r.stdout)
    CALIBRATION.update(phase_windows(r.stdout))
    (work / "calibration.json").write_text(json.dumps(CALIBRATION))
    diff_ab = differences(refs["A"], refs["B"])
    print(f"clean run, state B (one corrected return): {time.monotonic() - t:.0f}s; marts that differ A vs B: "
          f"{sorted(diff_ab)}; phase lengths (s) {CALIBRATION}", flush=True)
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
                  "summary": r.stdout[r.stdout.find("The run did not complete cleanly"):][:1500]
                  if "The run did not complete cleanly" in r.stdout else ""}
        failed["names_cause"] = "No space left on device" in failed["summary"]
        print(f"full disk, the failed run: exit {failed['rc']} in {failed['seconds']:.0f}s; "
              f"{failed['summary'] or r.stdout[-1500:]}", flush=True)
        subprocess.run(["mount", "-o", f"remount,size={size_kb + 512 * 1024}k", str(wdir)], check=True)
        t = time.monotonic()
        r = destinations(data, "run")
        diff = differences(data, refs["A"]) if r.returncode == 0 else {"run failed": r.stdout[-1500:]}
        result = {"failed_run": failed, "next_rc": r.returncode, "next_seconds": round(time.monotonic() - t, 1),
                  "identical": not diff, "diff": diff,
                  "pack": pack_problems(data, refs["A"]) if r.returncode == 0 else []}
        print(f"full disk, room again: exit {result['next_rc']} in {result['next_seconds']:.0f}s; marts "
              f"{'identical to clean A' if not diff else diff}; pack {result['pack'] or 'ok'}", flush=True)
        return result
    finally:
        subprocess.run(["umount", "-l", str(wdir)], capture_output=True)


def trials_and_report(args, work: Path, base: Path, rel: Path, content: dict[str, bytes],
                      refs: dict[str, Path]) -> int:
    trials = schedule(args.kills, args.workers, args.start)
    datas, pollers, threads = {}, {}, []
    lock = threading.Lock()
    for w in range(1, args.workers + 1):
        mine = [tr for tr in trials if tr.worker == w]
        datas[w] = work / f"trial{w}"
        shutil.rmtree(datas[w], ignore_errors=True)
        shutil.copytree(base, datas[w], symlinks=True)
        pollers[w] = Poller(datas[w], pause=args.poll)
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
        state = next((tr.state for tr in reversed(trials) if tr.worker == 1), "B")
        wh = data / "warehouse" / "warehouse.duckdb"
        os.truncate(wh, wh.stat().st_size // 3)
        reads0, problems0 = pollers[1].reads, len(pollers[1].problems)
        t = time.monotonic()
        r = destinations(data, "run")
        diff = differences(data, refs[state]) if r.returncode == 0 else {"run failed": r.stdout[-1500:]}
        said = "could not be read" in r.stdout and "rebuilding it from raw/" in r.stdout
        corrupt = {"rc": r.returncode, "seconds": round(time.monotonic() - t, 1), "said_so": said, "diff": diff,
                   "pack": pack_problems(data, refs[state]) if r.returncode == 0 else [],
                   "moved_aside": [f.name for f in (data / "warehouse").glob("warehouse.duckdb.corrupt-*")],
                   "poller_reads": pollers[1].reads - reads0, "poller_problems": len(pollers[1].problems) - problems0}
        print(f"corrupt warehouse (truncated to a third): exit {r.returncode} in {corrupt['seconds']:.0f}s, "
              f"{'said so' if said else 'NO MESSAGE'}; moved aside {corrupt['moved_aside']}; marts "
              f"{'identical to clean ' + state if not diff else diff}; pack {corrupt['pack'] or 'ok'}; "
              f"poller {corrupt['poller_reads']} reads, {corrupt['poller_problems']} problems", flush=True)
    if disk_thread is not None:
        disk_thread.join()
        print(f"full disk: {json.dumps(full, indent=1)}", flush=True)
    for p in pollers.values():
        p.stop.set()
        p.join()
    reads = sum(p.reads for p in pollers.values())
    problems = [x for p in pollers.values() for x in p.problems]
    failed = [tr for tr in trials if not tr.ok]
    corrupt_ok = corrupt is None or (corrupt["rc"] == 0 and corrupt["said_so"] and not corrupt["diff"]
                                     and not corrupt["pack"] and corrupt["moved_aside"])
    md = table(trials)
    print(md)
    print(f"poller: {reads} complete page loads, {len(problems)} problems")
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
        and full["identical"] and not full["pack"])
    return 1 if failed or problems or not corrupt_ok or not full_ok else 0


if __name__ == "__main__":
    sys.exit(main())
