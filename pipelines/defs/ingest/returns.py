"""Academy destination returns: landing zone -> raw.destination_returns (partitioned by year x round),
the missing-returns list, the landing-zone sensor and the round-deadline schedules."""

import json
from datetime import date, datetime, timedelta

import dagster as dg

import pipelines.config as cfg
from pipelines.defs.partitions import leaving_year_partitions, return_partitions
from pipelines.defs.resources import WarehouseResource


@dg.asset(
    key=["destination_returns"],
    partitions_def=return_partitions,
    group_name="ingest",
    kinds={"duckdb", "python"},
    pool="duckdb_warehouse",
    description=(
        "Academy destination returns for one leaving year x round: every file under "
        "raw/returns/<URN>/<year>/<round>/ validated as `destinations submit` does; the newest accepted "
        "file per academy loaded into raw.destination_returns (with raw.return_submissions and "
        "raw.return_problems); rejected landed files moved to quarantine/ with their feedback."),
)
def destination_returns(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from pipelines.lib.returns.ingest import load_partition

    keys = context.partition_key.keys_by_dimension
    year, rnd = keys["leaving_year"], keys["round"]
    with warehouse.connect() as con:
        result = load_partition(warehouse.paths, con, year, rnd, log=context.log.info)
    if result.unchanged:
        context.log.info(f"returns {year} {rnd}: no file changed since the last load; nothing written")
    for q in result.quarantined:
        context.log.warning(f"returns {year} {rnd}: rejected and quarantined {q}")
    md = result.metadata()
    return dg.MaterializeResult(metadata={
        **md,
        "dagster/row_count": result.rows_loaded,
        "current_files": dg.MetadataValue.json(result.current),
        "fingerprint": result.fingerprint[:16],
    })


@dg.asset(
    key=["missing_returns"],
    deps=[dg.AssetKey(["destination_returns"])],
    group_name="ingest",
    kinds={"duckdb", "python"},
    pool="duckdb_warehouse",
    description=(
        "Academies in the register (with the phase for the key stage) that have no accepted return for a "
        "round whose due date has passed, per leaving year x round: raw.missing_returns."),
)
def missing_returns(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from pipelines.lib.returns.missing import refresh_missing_returns

    with warehouse.connect() as con:
        frame = refresh_missing_returns(warehouse.paths, con, today=date.today())
    lines = [f"| {r['academy_urn']} | {r['academy_name']} | {r['leaving_year']} | {r['round']} | "
             f"{r['due_date']} | {r['last_status'] or 'nothing submitted'} |"
             for r in frame.head(200).iter_rows(named=True)]
    table = "| URN | academy | leaving year | round | due | latest |\n|---|---|---|---|---|---|\n" + "\n".join(lines)
    return dg.MaterializeResult(metadata={
        "missing": frame.height,
        "dagster/row_count": frame.height,
        "missing_list": dg.MetadataValue.md(table if lines else "No returns are missing."),
    })


# ------------------------------------------------------------------------------- sensor

returns_ingest_job = dg.define_asset_job(
    "returns_landing_ingest", selection=dg.AssetSelection.assets("destination_returns"),
    description="Validate and load the returns of one leaving year x round (run by the landing-zone sensor).")


@dg.sensor(
    name="returns_landing_sensor",
    job=returns_ingest_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Watches raw/returns/ by content hash. The first tick records what is there (no flood of "
        "historical runs); later ticks request one run per leaving year x round whose files changed. "
        "Files in unusable paths are reported in the tick, never crash it."),
)
def returns_landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    from pipelines.lib.returns.watch import scan_changes

    p = cfg.paths()
    state = json.loads(context.cursor) if context.cursor else None
    change = scan_changes(p, state)
    for path, reason in change.unusable:
        context.log.warning(f"returns landing zone: ignoring {path}: {reason}")
    cursor = json.dumps(change.state, sort_keys=True)
    if state is None:
        return dg.SensorResult(skip_reason=dg.SkipReason(
            f"first tick: recorded {len(change.state.get('files', {}))} file(s) already in the landing zone; "
            "new or changed files from now on start runs"), cursor=cursor)
    requests = [
        dg.RunRequest(
            run_key=f"returns:{year}:{rnd}:{digest}",
            partition_key=dg.MultiPartitionKey({"leaving_year": year, "round": rnd}),
            tags={"destinations/trigger": "landing_sensor"},
        )
        for (year, rnd), digest in sorted(change.changed_partitions.items())
        if year in set(leaving_year_partitions.get_partition_keys())
    ]
    if not requests:
        msg = "no new or changed returns"
        if change.unusable:
            msg += f"; {len(change.unusable)} file(s) in unusable paths: " + "; ".join(
                f"{pth} ({why})" for pth, why in change.unusable[:5])
        return dg.SensorResult(skip_reason=dg.SkipReason(msg), cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)


# ----------------------------------------------------------------------------- schedules

DEADLINE_GRACE_DAYS = 3
missing_returns_job = dg.define_asset_job(
    "missing_returns_refresh", selection=dg.AssetSelection.assets("missing_returns"),
    description="Refresh the list of academies that have not returned a round by its due date.")


def deadline_cron(round_: cfg.Round, grace_days: int = DEADLINE_GRACE_DAYS) -> str:
    """Cron for 07:00 a few days after the round's due date (every year)."""
    due = date(2001, *(int(x) for x in round_.due.split("-")))  # a non-leap year is fine for MM-DD
    run = due + timedelta(days=grace_days)
    return f"0 7 {run.day} {run.month} *"


def leaving_year_due_before(round_: cfg.Round, when: date) -> str:
    """The leaving year whose due date for this round is the latest on or before `when`."""
    start = when.year - round_.due_year_offset
    for y in (start, start - 1):
        label = cfg.leaving_year_label(y)
        if round_.due_date(label) <= when:
            return label
    return cfg.leaving_year_label(start - 2)


def _deadline_schedule(round_: cfg.Round) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"returns_deadline_{round_.id}",
        cron_schedule=deadline_cron(round_),
        job=missing_returns_job,
        execution_timezone="Europe/London",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=(f"{DEADLINE_GRACE_DAYS} days after the {round_.id} due date ({round_.due}): "
                     "refresh the missing-returns list so the trust can chase academies."),
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        when = context.scheduled_execution_time.date() if context.scheduled_execution_time else date.today()
        year = leaving_year_due_before(round_, when)
        return dg.RunRequest(
            run_key=f"missing_returns:{year}:{round_.id}",
            tags={"destinations/round": round_.id, "destinations/leaving_year": year,
                  "destinations/trigger": "round_deadline"},
        )

    return _schedule


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[destination_returns, missing_returns],
        jobs=[returns_ingest_job, missing_returns_job],
        sensors=[returns_landing_sensor],
        schedules=[_deadline_schedule(r) for r in cfg.rounds()],
    )
