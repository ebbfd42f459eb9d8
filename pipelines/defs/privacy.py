"""Retention as a Dagster job with a weekly schedule (off by default, like the other automation).

The job applies config/trust.yaml `retention:` (pipelines.lib.privacy.retention) and, when
anything changed, rebuilds the warehouse from the landing zone with `destinations run` in a
child process (one DuckDB writer at a time, never a run nested in this one)."""
import subprocess
import sys
from pathlib import Path

import dagster as dg

from pipelines.config import paths
from pipelines.lib.privacy import retention

RETENTION_JOB = "retention"


def rebuild_in_child(root: Path) -> int:
    import os
    env = {**os.environ, "DESTINATIONS_DATA_DIR": str(root)}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", "run"], env=env,
                          stdout=subprocess.DEVNULL, check=False).returncode


@dg.op(description="Pseudonymise pupils past the retention period, strip and purge quarantine, "
                   "rebuild the warehouse from the landing zone (config/trust.yaml retention:).")
def apply_retention(context: dg.OpExecutionContext) -> dict:
    rep = retention.apply(paths().root, rebuild=rebuild_in_child, echo=context.log.info)
    for line in rep.lines():
        context.log.info(line)
    summary = rep.summary()
    context.add_output_metadata({k: dg.MetadataValue.json(v) if isinstance(v, (dict, list)) else v
                                 for k, v in summary.items() if v is not None})
    if rep.problems:
        raise dg.Failure(description="; ".join(rep.problems))
    return summary


@dg.job(name=RETENTION_JOB, description="Apply the data-retention policy (pseudonymise, purge).")
def retention_job():
    apply_retention()


retention_schedule = dg.ScheduleDefinition(
    name="weekly_retention", job=retention_job, cron_schedule="0 3 * * 0",
    execution_timezone="Europe/London", default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every Sunday 03:00: apply the retention policy. Switch on under Automation.")

@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[retention_job], schedules=[retention_schedule])
