"""Dagster entry point: every module under pipelines/defs/ is loaded automatically."""
from pathlib import Path

import dagster as dg

import pipelines.config  # noqa: F401  (telemetry off before anything else imports)


@dg.definitions
def defs() -> dg.Definitions:
    from pipelines.lib.privacy.perms import secure_process
    secure_process()  # everything written under the data directory: owner only
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    # One writer for the DuckDB file: every step of a run executes in this process.
    return dg.Definitions.merge(loaded, dg.Definitions(executor=dg.in_process_executor))
