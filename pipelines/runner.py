"""`destinations run`: materialise every asset in-process over the data directory."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

import dagster as dg

from pipelines.config import Paths, is_leaving_year, paths, round_ids
from pipelines.defs.jobs import RETURNS_INGEST_JOB


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


def _instance() -> dg.DagsterInstance:
    home = os.environ.get("DAGSTER_HOME")
    if home and Path(home, "dagster.yaml").exists():
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def _failures(result: dg.ExecuteInProcessResult) -> list[str]:
    out = []
    for ev in result.all_events:
        if ev.event_type_value == "STEP_FAILURE":
            err = ev.event_specific_data.error
            msg = err.message.strip() if err else ""
            out.append(f"step {ev.step_key} failed: {msg.splitlines()[0] if msg else ''}")
        elif ev.event_type_value == "ASSET_CHECK_EVALUATION":
            data = ev.event_specific_data
            if not data.passed and str(data.severity).endswith("ERROR"):
                out.append(f"check {data.check_name} on {data.asset_key.to_user_string()} failed")
    return out


def run_pipeline(data_dir: Path | None = None, echo: Callable[[str], None] = print) -> int:
    p = paths(data_dir)
    os.environ["DESTINATIONS_DATA_DIR"] = str(p.root)
    os.environ["DESTINATIONS_WAREHOUSE_PATH"] = str(p.warehouse)
    if not p.raw.is_dir():
        echo(f"No raw/ folder in {p.root}. Generate a demo trust with `destinations generate` "
             f"or point DESTINATIONS_DATA_DIR at the trust's data directory.")
        return 1
    from pipelines.definitions import defs

    t0 = time.perf_counter()
    definitions = defs()
    instance = _instance()
    problems: list[str] = []

    partitions = landed_return_partitions(p)
    ingest = definitions.resolve_job_def(RETURNS_INGEST_JOB)
    valid_keys = set(ingest.partitions_def.get_partition_keys(dynamic_partitions_store=instance))
    for year, rnd in partitions:
        key = dg.MultiPartitionKey({"leaving_year": year, "round": rnd})
        if key not in valid_keys:
            problems.append(f"returns for {year} {rnd}: leaving year outside the configured range, skipped")
            continue
        res = ingest.execute_in_process(partition_key=key, instance=instance, raise_on_error=False)
        fails = _failures(res)
        problems += [f"returns {year} {rnd}: {f}" for f in fails]
        echo(f"  returns {year} {rnd}: {'ok' if res.success and not fails else 'FAILED'}")
    t1 = time.perf_counter()

    build = definitions.resolve_job_def("build_warehouse")
    res = build.execute_in_process(instance=instance, raise_on_error=False)
    fails = _failures(res)
    problems += fails
    t2 = time.perf_counter()
    echo(f"Ingested {len(partitions)} leaving-year x round partitions in {t1 - t0:.1f}s; "
         f"built and published in {t2 - t1:.1f}s.")
    echo(f"Warehouse: {p.warehouse}")
    echo(f"Serving snapshot (dashboard, exports): {p.serving}")
    if p.serving.is_dir():
        for f in sorted(p.serving.glob("*.parquet")):
            echo(f"  {f.name}")
    if p.reports.is_dir():
        echo(f"Trustee reports: {p.reports}")
    if problems or not res.success:
        echo("The run did not complete cleanly:")
        for line in problems or ["see the Dagster logs above"]:
            echo(f"  - {line}")
        return 1
    return 0
