"""`destinations run`: one incremental, crash-safe run over the data directory.

1. Take the data directory's run lock (an OS file lock; a killed run releases it by itself).
   A second run waits and says which run (pid, start time) it is waiting for.
2. Check the warehouse file; a damaged one is moved aside and rebuilt from raw/ (said so).
3. Digest every input (stat-cached SHA-256). Nothing changed since the last successful run:
   stop here, in about a second.
4. Ingest returns for the leaving year x round partitions whose files changed, in one pass
   (`load_partition` per partition, one connection), check the loaded rows once with the
   returns GX suite and rules, and record the materialisations in Dagster.
5. One Dagster run of the build job over only what changed and everything downstream:
   other ingest steps, dbt models and tests, mart checks, publish (a new serving version
   only when a mart changed), trustee pack (only when the snapshot changed).
6. Record the inputs as built. What a run must rebuild is written down before it starts, so a
   failed or killed run's work is redone by the next one.
"""
from __future__ import annotations

import functools
import os
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pipelines.config import Paths, dbt_env, is_leaving_year, paths, round_ids
from pipelines.lib import dbt_warm, runstate
from pipelines.lib.dbt_cli import last_seconds
from pipelines.lib.dbt_progress import NOTE
from pipelines.lib.heartbeat import QUIET, Heartbeat, elapsed, line_due
from pipelines.lib.runnow import pid_alive
from pipelines.lib.warehouse import RunInProgress, move_aside, run_lock, warehouse_problem

DBT_STEP = "warehouse_models"   # the dbt assets' step (defs/transform/dbt.py): it says its own progress and heartbeat

RUN_TAG_PID = "destinations/pid"

# input group -> build-job assets that read it (their downstream is rebuilt too)
GROUP_ASSETS = {
    "academies": ["academies", "fsq_responses", "compass_evaluations", "missing_returns"],
    "benchmarks": ["benchmark_measures_raw"],
    "benchmark_seed": ["benchmark_measures_raw"],
    "fsq": ["fsq_responses"],
    "fsq_config": ["fsq_responses"],
    "compass": ["compass_evaluations"],
    "rounds": ["rounds", "missing_returns"],
    "goals": ["goals"],
    "neet_risk": ["neet_risk_weights"],
}
MULTI_ASSETS = [
    ["benchmark_measures_raw", "gias_links", "gias_establishments", "gias_establishment_types"],
    ["fsq_responses", "fsq_items", "fsq_readiness_bands"],
    ["trustee_report", "governor_packs", "public_statements"],      # one step: documents
]
RETURNS_DOWNSTREAM = ["destination_returns", "return_submissions", "return_problems", "missing_returns"]
DATED = ["missing_returns", "return_status"]      # read today's date
PUBLISH = ["serving_snapshot", "trustee_report"]
# the environment variable naming the leaving years dbt rebuilds (dbt_project/macros/by_leaving_year.sql)
LEAVING_YEARS_ENV = "DESTINATIONS_BUILD_LEAVING_YEARS"
# "0": no warm dbt process (lib/dbt_warm.py); dbt is imported by the process dagster-dbt starts
WARM_DBT_ENV = "DESTINATIONS_DBT_WARM"


def leaving_years_to_rebuild(dirty: set[str], loads: dict[str, str], built_loads: dict[str, str] | None) -> list[str] | None:
    """The leaving years whose returns changed since the last successful build, when nothing else
    that every year reads changed (academies, rounds, benchmarks, code...); None: every year.

    `loads` / `built_loads` are the per-partition load fingerprints now and at the last successful
    build ("YYYY-YY/R3" -> fingerprint), so loads by a killed run or the landing sensor count too.
    """
    if built_loads is None or not dirty or not dirty <= set(RETURNS_DOWNSTREAM) | set(DATED) | set(PUBLISH):
        return None
    changed = {key.partition("/")[0] for key in set(loads) | set(built_loads)
               if loads.get(key) != built_loads.get(key)}
    return sorted(changed) or None


def landed_return_partitions(p: Paths) -> list[tuple[str, str]]:
    """(leaving_year, round) pairs with at least one file under raw/returns/<URN>/<year>/<round>/."""
    order = {r: i for i, r in enumerate(round_ids())}
    found: set[tuple[str, str]] = set()
    if p.returns.is_dir():
        for f in p.returns.glob("*/*/*/*"):
            if f.is_file() and not f.name.startswith("."):
                year, rnd = f.parent.parent.name, f.parent.name
                if is_leaving_year(year) and rnd in order:
                    found.add((year, rnd))
    return sorted(found, key=lambda yr: (yr[0], order[yr[1]]))


@dataclass
class Timings:
    """The run's steps and their seconds, and every line the run prints (`say`). When nothing has
    been said for `quiet` seconds, `beat` (the run's Heartbeat thread) says what is still running:
    the Dagster step (`step fsq_ingest still running (2m0s)`), or else the run's own step
    (`ingest returns still running (2m0s)`); not a step that says its own progress (dbt's, which
    has its own heartbeat: lib/dbt_progress.py)."""
    echo: Callable[[str], None]
    steps: list[tuple[str, float]] = field(default_factory=list)
    substeps: dict[str, list[tuple[str, float]]] = field(default_factory=dict)   # Dagster steps per step
    t0: float = field(default_factory=time.perf_counter)
    serving_at: float | None = None     # when this run's serving snapshot was published (the dashboard sees it)
    dbt_slowest: list[tuple[str, float]] = field(default_factory=list)   # this build's slowest dbt nodes
    quiet: float = QUIET
    now: Callable[[], float] = time.perf_counter
    # each replaced by one assignment, so the heartbeat's thread reads it whole
    phase: tuple[str, float] | None = None      # this run's step (start) and when it started
    running: tuple[str, float, bool] | None = None   # the Dagster step: key, when it started, says its own progress
    _last: float = 0.0   # when the last line was said
    _said: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._last = self.now()

    @property
    def name(self) -> str:
        return self.phase[0] if self.phase else ""

    def say(self, line: str) -> None:
        """Print a line of the run (from any thread: one at a time)."""
        with self._said:
            self._last = self.now()
            self.echo(line)

    def at(self) -> str:
        return f"[{self.now() - self.t0:6.1f}s]"

    def start(self, name: str) -> None:
        self.stop()
        self.phase = (name, self.now())
        self.say(f"{self.at()} {name} ...")

    def stop(self) -> None:
        if self.phase:
            self.steps.append((self.phase[0], self.now() - self.phase[1]))
            self.phase = None

    def beat(self) -> None:
        """A line on what is still running, if nothing has been said for `quiet` seconds."""
        phase, step = self.phase, self.running
        with self._said:
            t = self.now()
            if not line_due(t, self._last, self.quiet):
                return
            if step is not None:
                if step[2]:
                    return
                line = f"{self.at()}   step {step[0]} still running ({elapsed(t - step[1])})"
            elif phase is not None:
                line = f"{self.at()} {phase[0]} still running ({elapsed(t - phase[1])})"
            else:
                return
            self._last = t
            self.echo(line)

    def summary(self) -> None:
        self.stop()
        total = self.now() - self.t0
        self.say("Timing:")
        for name, secs in self.steps:
            self.say(f"  {name:<34s} {secs:7.1f}s")
            for sub, sub_secs in self.substeps.get(name, []):
                if sub_secs >= 1.0:
                    self.say(f"    {sub[:52]:<52s} {sub_secs:7.1f}s")
                if sub == DBT_STEP:
                    for node, node_secs in self.dbt_slowest:
                        self.say(f"      {node[:50]:<50s} {node_secs:7.1f}s")
        self.say(f"  {'total':<34s} {total:7.1f}s")
        if self.serving_at is not None:
            self.say(f"  {'serving snapshot refreshed after':<34s} {self.serving_at:7.1f}s "
                     "(the dashboard shows the new figures; documents follow)")


def _instance():
    import dagster as dg
    home = os.environ.get("DAGSTER_HOME")
    if home and Path(home, "dagster.yaml").exists():
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def reclaim_dead_runs(instance) -> list[str]:
    """Mark runs of `destinations run` whose process is gone (kill -9, power cut) as failed and free
    any concurrency slots they held, so nothing waits on them."""
    import dagster as dg
    reclaimed = []
    try:
        records = instance.get_run_records(dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING,
                      dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.CANCELING]))
    except Exception:  # noqa: BLE001 - an unreadable run store must not stop the run
        return reclaimed
    for rec in records:
        run = rec.dagster_run
        pid = run.tags.get(RUN_TAG_PID)
        if not pid or pid_alive(int(pid)):
            continue
        try:
            instance.report_run_failed(run, "the process running it died (pid gone); reclaimed")
            if hasattr(instance.event_log_storage, "free_concurrency_slots_for_run"):
                instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            reclaimed.append(run.run_id)
        except Exception:  # noqa: BLE001
            continue
    return reclaimed


def _failures(result) -> list[str]:
    out = []
    for ev in result.all_events:
        if ev.event_type_value == "STEP_FAILURE":
            err = ev.event_specific_data.error
            msgs = []
            while err is not None:   # the whole chain: the real cause may be outer or inner
                msgs.append((err.message or "").strip())
                err = err.cause
            out.append(f"step {ev.step_key} failed: {_first_line(chr(10).join(msgs))}")
        elif ev.event_type_value == "ASSET_CHECK_EVALUATION":
            data = ev.event_specific_data
            if not data.passed and str(data.severity).endswith("ERROR"):
                out.append(f"check {data.check_name} on {data.asset_key.to_user_string()} failed")
    return out


def _first_line(msg: str) -> str:
    lines = [ln.strip() for ln in msg.splitlines() if ln.strip()]
    if any(ln.endswith("DagsterExecutionInterruptedError") for ln in lines):   # Ctrl-C / SIGINT mid-step
        return "interrupted (Ctrl-C or SIGINT) before it finished"
    for ln in lines:
        low = ln.lower()
        for lead in ("dbt build failed", "no space", "ioexception", "io error"):
            if lead in low:      # also behind an exception class name ("...Failure: dbt build failed: ...")
                return ln[low.index(lead):]
    return lines[0] if lines else ""


def run_pipeline(data_dir: Path | None = None, echo: Callable[[str], None] | None = None,
                 wait: float | None = None, full: bool = False) -> int:
    """Run the pipeline; 0 when everything built and published cleanly. `echo` gets the lines to
    print (default: this process's stdout as it is now; the dbt step drops dagster-dbt's copy of
    every dbt log line by redirecting sys.stdout, lib/dbt_progress.py)."""
    if echo is None:
        echo = functools.partial(print, file=sys.stdout, flush=True)
    p = paths(data_dir)
    dbt_env(p)       # the same settings the dbt asset uses (WarehouseResource.dbt_env)
    if not p.raw.is_dir():
        echo(f"No raw/ folder in {p.root}. Generate a demo trust with `destinations generate` "
             f"or point DESTINATIONS_DATA_DIR at the trust's data directory.")
        return 1
    timings = Timings(echo)
    echo = timings.say    # every line of the run, so the heartbeat knows when the last one came
    try:
        # the heartbeat's thread only prints (timings.say); Dagster's log calls stay on the step's thread
        with run_lock(p.warehouse_dir, "destinations run", wait=wait, on_wait=echo), ExitStack() as on_exit, \
                Heartbeat(timings.beat, name="run-progress"):
            return _run_locked(p, echo, timings, full, on_exit)
    except RunInProgress as exc:
        echo(f"Not started: {exc}. Try again when it has finished (or run without --no-wait to wait).")
        return 75


def _run_locked(p: Paths, echo: Callable[[str], None], timings: Timings, full: bool, on_exit: ExitStack) -> int:
    timings.start("check warehouse")
    previous = runstate.load(p)
    # the file as the last successful run (or check) left it: it opened then, no need to open it now
    problem = None if runstate.warehouse_as_recorded(p, previous) else warehouse_problem(p.warehouse)
    if problem:
        moved = move_aside(p.warehouse)
        runstate.forget(p)
        full = True
        echo(f"The warehouse file could not be read ({problem}). Moved it to {moved.name}; "
             f"rebuilding it from raw/ (raw/ holds every submitted file, nothing is lost).")
    if not p.warehouse.exists():
        full = True

    timings.start("scan inputs")
    inputs = runstate.scan(p)
    changes = runstate.Changes(full=True, reason="full rebuild requested") if full else runstate.diff(previous, inputs)
    pending = runstate.load_pending(p)
    serving_ok = runstate.serving_ready(p)
    if changes.nothing and not pending and serving_ok:
        runstate.record_warehouse(p, previous)
        echo(f"Nothing changed since the last successful run ({previous.get('finished_at', '?')}); "
             f"the serving snapshot is current: {os.path.realpath(p.serving)}")
        timings.summary()
        return 0
    if changes.full:
        echo(f"Full build: {changes.reason or 'no earlier build'}.")
    else:
        what = sorted(changes.groups) + [f"returns {k}" for k in sorted(changes.partitions)]
        echo("Changed since the last successful run: " + (", ".join(what) or "nothing new")
             + ("; a new day (dated models)" if changes.new_day else "")
             + (f"; redoing {len(pending)} step(s) a failed or killed run left" if pending else ""))

    # what this run may rebuild, on disk before any work starts
    planned: set[str] = set(pending)
    if changes.full:
        planned.add("*")
    for g in changes.groups:
        planned.update(GROUP_ASSETS.get(g, []))
    if changes.partitions:
        planned.update(RETURNS_DOWNSTREAM)
    if changes.new_day:
        planned.update(DATED)
    if not serving_ok:
        planned.update(PUBLISH)
    runstate.save_pending(p, planned)

    # the dbt parse, when the project changed since the last one, runs (a subprocess, on the other
    # core) while the returns ingest; the definitions load waits for it
    parse = _parse_ahead()
    problems: list[str] = []
    timings.start("ingest returns")
    todo = returns_todo(p, None if changes.full else set(changes.partitions))
    _ingest_returns(p, todo, echo, problems, full=full)
    # what is loaded (per partition fingerprint) against what the last successful build used:
    # catches loads by this run, by a killed run and by the landing sensor alike
    loads = _return_loads(p)
    dirty = set(pending) | (planned - set(RETURNS_DOWNSTREAM))
    if loads != previous.get("return_loads") or "*" in planned or set(RETURNS_DOWNSTREAM) & set(pending):
        dirty.update(RETURNS_DOWNSTREAM)
    runstate.save_pending(p, dirty)
    if problems:
        return _finish(p, echo, timings, problems, None)

    # dbt's import, in a warm dbt process (lib/dbt_warm.py, the other core), while the definitions load
    # (~3 s of Python here) and the job starts; started after the ingest, which it slowed on a busy
    # machine. Not the definitions in a thread beside the ingest: sharing the GIL with `import dagster`
    # made the ingest ~2x slower, for no gain overall (measured at `large`).
    warm = dbt_warm.start() if os.environ.get(WARM_DBT_ENV, "1") != "0" else None
    if warm is not None:
        on_exit.callback(warm.stop)     # stopped when the run ends, however it ends
    timings.start("load pipeline definitions")
    if parse is not None:
        parse.join()
    import dagster as dg

    definitions = load_definitions()
    instance = _instance()
    reclaimed = reclaim_dead_runs(instance)
    if reclaimed:
        echo(f"Marked {len(reclaimed)} run(s) of killed processes as failed: {', '.join(r[:8] for r in reclaimed)}")
    _record_returns(instance, todo)

    job = definitions.resolve_job_def("build_warehouse")
    graph = definitions.resolve_asset_graph()
    in_job = {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable} - {
        dg.AssetKey("destination_returns")}
    if "*" in dirty:
        selected = set(in_job)
    else:
        roots = {dg.AssetKey(a) for a in dirty if dg.AssetKey(a) in graph.get_all_asset_keys()}
        for group in MULTI_ASSETS:
            if any(dg.AssetKey(a) in roots for a in group):
                roots |= {dg.AssetKey(a) for a in group}
        selected = set(dg.AssetSelection.assets(*roots).downstream().resolve(graph)) & in_job if roots else set()
    res = None
    years = leaving_years_to_rebuild(dirty, loads, previous.get("return_loads"))
    if selected:
        n_models = sum(1 for k in selected if k.to_user_string() in _dbt_names())
        if years is not None:
            echo(f"  models kept per leaving year are rebuilt for {', '.join(years)} only")
        timings.start(f"build {len(selected)} assets ({n_models} dbt models), check, publish")
        from dagster._core.utils import make_new_run_id
        run_id = make_new_run_id()
        instance.add_event_listener(run_id, _step_progress(echo, timings))
        os.environ[LEAVING_YEARS_ENV] = ",".join(years) if years is not None else "*"
        os.environ.update(warm.env if warm is not None else {})    # the dbt step's launcher hands its command over
        try:
            res = job.execute_in_process(
                instance=instance, raise_on_error=False, asset_selection=sorted(selected), run_id=run_id,
                tags={RUN_TAG_PID: str(os.getpid()), "destinations/trigger": "destinations run"},
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
        finally:
            os.environ.pop(LEAVING_YEARS_ENV, None)
            os.environ.pop(dbt_warm.SOCKET_ENV, None)
        problems += _failures(res)
        _echo_steps(res, echo)
        if any(sub == DBT_STEP for sub, _ in timings.substeps.get(timings.name, [])):
            timings.dbt_slowest = slowest_nodes(last_seconds(str(p.dbt_dir / "target")))
        if not res.success and not problems:
            problems.append("the Dagster run failed; see its log above")
    else:
        echo("No asset downstream of the changes: nothing to build.")
    if not problems:
        runstate.save(p, inputs, return_loads=loads, warehouse=runstate.warehouse_stat(p),
                      finished_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        runstate.save_pending(p, set())
    return _finish(p, echo, timings, problems, res)


def load_definitions():
    """The Dagster definitions, loaded without importing dbt-core into this process (~1.7 s of the
    definitions load at `large`, on the path of every run).

    dagster-dbt imports dbt-core when it can, only for a few enums (node types, statuses) and a
    version check; without it, it defines them itself (its dbt Fusion mode). This process never runs
    dbt: the launcher dagster-dbt starts (lib/dbt_cli.py) and the warm dbt process do, and
    TrustDbtCliResource names the installed dbt-core version itself. dbt-core already imported (a
    test, the Dagster UI): loaded as it is. Later imports of dbt in this process work as usual."""
    import sys
    blocked = "dbt.version" not in sys.modules
    if blocked:
        sys.modules["dbt.version"] = None      # `from dbt.version import ...` raises ImportError
    try:
        from pipelines.definitions import defs
        return defs()
    finally:
        if blocked and sys.modules.get("dbt.version", 0) is None:
            del sys.modules["dbt.version"]


def _parse_ahead():
    """A thread running `dbt parse` (ensure_manifest) when the manifest is older than the project, so
    the parse overlaps the returns ingest instead of following it; None when the manifest is current.
    A failed parse is reported by the definitions load, which parses again."""
    import threading

    from pipelines.lib.dbt_manifest import ensure_manifest, manifest_current
    if manifest_current():
        return None

    def parse() -> None:
        try:
            ensure_manifest()
        except Exception:  # noqa: BLE001 - the definitions load parses again and says why
            pass
    thread = threading.Thread(target=parse, name="dbt-parse")   # not a daemon: an ingest that raises still waits for it
    thread.start()
    return thread


_DBT_NAMES: set[str] | None = None


def _dbt_names() -> set[str]:
    global _DBT_NAMES
    if _DBT_NAMES is None:
        import json

        from pipelines.lib.dbt_manifest import ensure_manifest
        nodes = json.loads(ensure_manifest().read_text())["nodes"].values()
        _DBT_NAMES = {n["name"] for n in nodes if n["resource_type"] in ("model", "seed")}
    return _DBT_NAMES


def _return_loads(p: Paths) -> dict[str, str]:
    """Fingerprint of every loaded returns partition (raw.return_loads)."""
    import duckdb

    from pipelines.lib.warehouse import connect_retrying
    if not p.warehouse.exists():
        return {}
    con = connect_retrying(p.warehouse, read_only=True)
    try:
        rows = con.execute("select leaving_year || '/' || round, fingerprint from raw.return_loads").fetchall()
    except duckdb.Error:
        rows = []
    finally:
        con.close()
    return dict(sorted(rows))


def returns_todo(p: Paths, changed: set[str] | None) -> list[tuple[str, str]]:
    """Landed partitions to load: the changed ones (None: all), plus the later rounds of the same
    leaving year (their checks read the earlier rounds), in round order."""
    landed = landed_return_partitions(p)
    if changed is None:
        return landed
    order = {r: i for i, r in enumerate(round_ids())}
    first: dict[str, int] = {}
    for key in changed:
        year, _, rnd = key.partition("/")
        if rnd in order:
            first[year] = min(first.get(year, 99), order[rnd])
    return [(y, r) for y, r in landed if y in first and order[r] >= first[y]]


def _ingest_returns(p: Paths, todo: list[tuple[str, str]], echo, problems: list[str], full: bool = False) -> bool:
    """Load the partitions in one pass and one transaction; check the rows loaded. True if any data changed.

    Within a partition only new or changed files are read (`load_partition`); the rows this run
    loaded are then checked once: the returns suite (expectations/destination_returns.json,
    vectorised) and the rules GX cannot express, plus the partition-wide uniqueness rules.
    """
    if not todo:
        return False
    import polars as pl

    from pipelines.config import leaving_years   # not defs.partitions: no Dagster import before it is needed
    from pipelines.lib.intake.store import RelPaths
    from pipelines.lib.returns.ingest import PartitionLoad, ensure_return_tables, load_partition
    from pipelines.lib.returns.submit import FeedbackWriter
    from pipelines.lib.warehouse import connect_retrying

    valid_years = set(leaving_years())
    todo = [(y, r) for y, r in todo if y in valid_years or problems.append(
        f"returns for {y} {r}: leaving year outside the configured range, skipped")]
    changed: list[tuple[str, str]] = []
    loaded_files: list[str] = []
    files = rows = checked = 0
    con = connect_retrying(p.warehouse)
    try:
        # DuckDB's default cache is 80 % of RAM; the load needs little (rows go to disk as they come)
        con.execute(f"set memory_limit = '{os.environ.get('DESTINATIONS_INGEST_MEMORY', '2GB')}'")
        # one thread: the load's inserts are many small frames (a partition each), which DuckDB's parallel
        # insert makes ~2.5x slower (measured at `large`: 1.4 s -> 0.6 s for 289k rows); its queries are small
        con.execute("set threads = 1")
        ensure_return_tables(con)

        # rows a transaction may hold before it is committed: DuckDB keeps a transaction's inserted and
        # deleted rows in memory past memory_limit (national, 13.8 M rows in one: 7 GB; 1.5 GB after
        # the commit). Up to this many the load is one transaction (every trust; one sync); beyond it,
        # a commit after the partition that reaches it. Each partition is whole either way.
        budget = transaction_rows()
        done: set[tuple[str, str]] = set()       # partitions whose load is committed
        relpaths = RelPaths(p.root)              # the data directory's folders resolved once for the run
        # the feedback of the one-transaction load, written on threads while the next partitions load;
        # all of it on disk (drained, then os.sync) before the commit that records it
        writer = FeedbackWriter(p.root, p.root.resolve(), relpaths)

        def load_all(one_transaction: bool) -> None:
            held = 0                               # rows written by the open transaction
            batch: list[tuple[tuple[str, str], PartitionLoad]] = []

            def commit() -> None:
                nonlocal held
                writer.drain()
                os.sync()    # every partition's feedback on disk before the commit that records it (one sync per commit)
                con.execute("commit")
                for key, result in batch:
                    done.add(key)
                    record(key, result)
                batch.clear()
                held = 0

            for year, rnd in todo:
                if (year, rnd) in done:
                    continue
                try:
                    result = load_partition(p, con, year, rnd, full=full, transaction=not one_transaction,
                                            relpaths=relpaths, feedback=writer if one_transaction else None)
                except Exception as exc:  # noqa: BLE001 - report; nothing of this partition changed
                    if one_transaction:
                        raise
                    problems.append(f"returns {year} {rnd}: {type(exc).__name__}: {_first_line(str(exc))}")
                    continue
                q = f", {len(result.quarantined)} rejected to quarantine/" if result.quarantined else ""
                state = "unchanged" if result.unchanged else (
                    f"{result.rows_loaded:,} rows current, {result.checked} file(s) checked")
                echo(f"  returns {year} {rnd}: {state} ({len(result.current)} academies){q}")
                if not one_transaction:
                    done.add((year, rnd))
                    record((year, rnd), result)
                    continue
                batch.append(((year, rnd), result))
                held += 0 if result.unchanged else result.rows_loaded
                if held >= budget and (year, rnd) != todo[-1]:
                    commit()
                    con.execute("begin transaction")
            if one_transaction:
                commit()

        def record(key: tuple[str, str], result: PartitionLoad) -> None:
            nonlocal files, rows, checked
            files += len(result.submissions)
            rows += result.rows_loaded
            checked += result.checked
            loaded_files.extend(result.loaded_files)
            if not result.unchanged:
                changed.append(key)

        con.execute("begin transaction")
        try:
            try:
                load_all(True)
            finally:
                writer.close(check=False)    # drained and checked by the commit; none left running
        except Exception as exc:  # noqa: BLE001 - one partition failed: load the others one by one
            con.execute("rollback")
            echo(f"  the one-transaction load failed ({type(exc).__name__}: {_first_line(str(exc))}); "
                 "loading partition by partition")
            load_all(False)
        partition_failures = _partition_rule_failures(con, changed)
        # the rows loaded now, checked partition by partition (bounded memory at national scale)
        checked_rows = 0
        suite_evaluated = 0
        if loaded_files:
            from pipelines.lib.returns.gx_suite import evaluate_frame
            from pipelines.lib.returns.rules import loaded_rule_failures
            con.register("_loaded_files", pl.DataFrame({"source_file": loaded_files}).to_arrow())
            for year, rnd in changed:
                loaded = con.execute(
                    "select * from raw.destination_returns where leaving_year = ? and round = ? "
                    "and source_file in (select source_file from _loaded_files)", [year, rnd]).pl()
                if not loaded.height:
                    continue
                checked_rows += loaded.height
                suite = evaluate_frame(loaded)
                suite_evaluated = suite.evaluated
                if not suite.success:
                    problems.append(f"check destination_returns_expectations failed on {loaded.height:,} rows "
                                    f"loaded for {year} {rnd}:\n" + suite.markdown())
                for f in loaded_rule_failures(loaded):
                    problems.append(f"check destination_returns_rules ({year} {rnd}): {f['rule']}: {f['count']} "
                                    f"(e.g. {', '.join(map(str, f['examples']))})")
                del loaded
            con.unregister("_loaded_files")
    finally:
        con.close()
    echo(f"  {len(todo)} partition(s) looked at, {len(changed)} changed, {checked:,} of {files:,} files "
         f"checked, {rows:,} rows current")
    problems += partition_failures
    if checked_rows:
        echo(f"  returns checks (suite: {suite_evaluated} expectations, rules) on the {checked_rows:,} rows "
             f"loaded now: {'passed' if not problems else 'FAILED'}")
    return bool(changed)


def transaction_rows() -> int:
    """Rows the returns load writes in one transaction before it commits (DESTINATIONS_INGEST_TRANSACTION_ROWS,
    default 2,000,000: a `large` trust's 400k rows load in one; national commits every two partitions)."""
    from pipelines.config import env_whole_number
    what = "rows, at least 1 (unset it for the default, 2000000)"
    rows = env_whole_number("DESTINATIONS_INGEST_TRANSACTION_ROWS", what)
    if rows is None:
        return 2_000_000
    if rows < 1:
        raise ValueError(f"DESTINATIONS_INGEST_TRANSACTION_ROWS={rows}: expected a whole number of {what}")
    return rows


def _partition_rule_failures(con, partitions: list[tuple[str, str]]) -> list[str]:
    """Rules over whole partitions (rows kept from earlier loads included): one row per pupil per
    leaving year x round, one current file per academy."""
    if not partitions:
        return []
    where = " or ".join("(leaving_year = ? and round = ?)" for _ in partitions)
    params = [x for yr in partitions for x in yr]
    out = []
    dup = con.execute(f"select leaving_year, round, upn from raw.destination_returns where {where} "
                      "group by all having count(*) > 1 order by all limit 5", params).fetchall()
    if dup:
        out.append("check destination_returns_expectations: a pupil is loaded twice for one leaving year x round "
                   f"(e.g. {', '.join(' '.join(r) for r in dup)})")
    files = con.execute(f"select academy_urn, leaving_year, round from raw.destination_returns where {where} "
                        "group by all having count(distinct source_file) > 1 order by all limit 5", params).fetchall()
    if files:
        out.append("check destination_returns_rules: one_current_file: "
                   f"{', '.join(' '.join(r) for r in files)}")
    return out


def _record_returns(instance, todo: list[tuple[str, str]]) -> None:
    """Record the loaded partitions as materialisations of `destination_returns` in Dagster."""
    import dagster as dg
    for year, rnd in todo:
        try:
            instance.report_runless_asset_event(dg.AssetMaterialization(
                asset_key="destination_returns",
                partition=dg.MultiPartitionKey({"leaving_year": year, "round": rnd}),
                metadata={"loaded_by": "destinations run"}))
        except Exception:  # noqa: BLE001 - bookkeeping only
            return


def _step_progress(echo, timings: Timings):
    """Dagster event listener (on the step's thread): one line when a step starts and when it ends
    (a failed step's seconds from its start: Dagster's failure has none), and the progress lines
    a step logs (live progress). It tells the run's heartbeat which step is running."""
    started: dict[str, float] = {}

    def on_event(entry) -> None:
        ev = entry.dagster_event
        at = timings.at()
        if ev is None:   # a step's progress line (the dbt step's: lib/dbt_progress.py)
            msg = entry.user_message or ""
            if msg.startswith(NOTE):
                if timings.running is not None and not timings.running[2]:
                    timings.running = timings.running[:2] + (True,)   # it says its own heartbeat
                echo(f"{at}     {msg[len(NOTE):]}")
            return
        if not ev.step_key:
            return
        kind = ev.event_type_value
        if kind == "STEP_START":
            started[ev.step_key] = timings.now()
            # dbt's step has its own heartbeat from its start (lib/dbt_progress.py): not said twice
            timings.running = (ev.step_key, started[ev.step_key], ev.step_key == DBT_STEP)
            echo(f"{at}   step {ev.step_key} started")
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            timings.running = None
            since = started.pop(ev.step_key, None)
            secs = (getattr(ev.event_specific_data, "duration_ms", None) or 0) / 1000
            if kind == "STEP_FAILURE" and since is not None:   # e.g. interrupted (Ctrl-C): no duration from Dagster
                secs = timings.now() - since
            timings.substeps.setdefault(timings.name, []).append((ev.step_key, secs))
            echo(f"{at}   step {ev.step_key} {'done' if kind == 'STEP_SUCCESS' else 'FAILED'} in {secs:.1f}s")
            if kind == "STEP_SUCCESS" and ev.step_key == "serving_snapshot":
                timings.serving_at = timings.now() - timings.t0
    return on_event


def slowest_nodes(seconds: dict[str, float], top: int = 5, at_least: float = 1.0) -> list[tuple[str, float]]:
    """The `top` slowest dbt nodes of a build (unique id -> seconds), by name, of `at_least` seconds."""
    slow = sorted(((secs, uid) for uid, secs in seconds.items() if secs >= at_least), reverse=True)[:top]
    return [(uid.split(".")[-1], secs) for secs, uid in slow]


def _echo_steps(res, echo) -> None:
    done = models = checks = 0
    for ev in res.all_events:
        if ev.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            done += 1
        elif ev.event_type_value == "ASSET_MATERIALIZATION":
            models += 1
        elif ev.event_type_value == "ASSET_CHECK_EVALUATION":
            checks += 1
    echo(f"  {done} steps, {models} assets materialised, {checks} checks evaluated")


def _finish(p: Paths, echo, timings: Timings, problems: list[str], res) -> int:
    from pipelines.lib.publish import read_manifest
    man = read_manifest(p.serving)
    echo(f"Warehouse: {p.warehouse}")
    if man:
        echo(f"Serving snapshot (dashboard, exports): {p.serving} -> {os.path.realpath(p.serving)} "
             f"({len(man.get('tables', {}))} marts; changed in this version: {len(man.get('changed', []))})")
    if p.reports.is_dir():
        echo(f"Trustee reports: {p.reports}")
    timings.summary()
    if problems:
        echo("The run did not complete cleanly:")
        for line in problems:
            echo(f"  - {line}")
        echo("The serving snapshot only ever switches as a whole; the next run redoes the unfinished work.")
        return 1
    return 0
