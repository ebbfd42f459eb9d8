"""dbt models as Dagster assets; dbt data tests become asset checks.

dbt keeps its state per data directory (<data>/warehouse/dbt/target: run results, partial
parse, logs), so two data directories never share it. Unit tests (they test SQL logic, not
data) run in `make test`, not in every build. A failed build names the real cause.
"""

import shutil
from pathlib import Path
from typing import Any, Mapping

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.defs.resources import WarehouseResource
from pipelines.lib.dbt_manifest import MANIFEST, PARSED_FOR, dbt_failure_cause, dbt_project, ensure_manifest, log_size
from pipelines.lib.dbt_progress import NOTE, DbtProgress


class TrustTranslator(DagsterDbtTranslator):
    """Source tables keep the raw table name as key, so the Python asset that writes
    `raw.<table>` is their upstream; models are keyed by model name; groups follow folders."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        return dg.AssetKey([dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn") or []
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        return fqn[1] if len(fqn) > 2 else "transform"


def seed_partial_parse(target: Path, project_target: Path = MANIFEST.parent) -> bool:
    """Give this data directory's dbt the project's newer parse (partial_parse.msgpack) to start from.

    `ensure_manifest` re-parses the project when a model changed, so without this the build
    parses the project a second time (a new data directory's first build: from scratch, ~10
    CPU-s). Only a parse made for the same profile is copied (dbt would parse everything again for
    another one): the pipeline's, whose warehouse path is relative to the folder dbt runs in and so
    the same for every data directory (config.dbt_env). dbt still checks files and variables
    itself. True when copied."""
    import os
    src, dst = project_target / "partial_parse.msgpack", target / "partial_parse.msgpack"
    try:
        made_for = (project_target / PARSED_FOR).read_text()
        if (not src.exists() or made_for != os.environ.get("DESTINATIONS_WAREHOUSE_PATH", "")
                or (dst.exists() and dst.stat().st_mtime >= src.stat().st_mtime)):
            return False
        tmp = dst.with_name(dst.name + ".tmp")
        shutil.copyfile(src, tmp)
        tmp.replace(dst)
        return True
    except OSError:
        return False


translator = TrustTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
BUILD_ARGS = ["build", "--exclude-resource-type", "unit_test"]


@dbt_assets(
    manifest=ensure_manifest(),
    project=dbt_project,
    dagster_dbt_translator=translator,
)
def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    warehouse.dbt_env()
    target = warehouse.dbt_dir / "target"
    target.mkdir(parents=True, exist_ok=True)
    with warehouse.lock():
        since = log_size(target)
        seed_partial_parse(target)
        invocation = dbt.cli(BUILD_ARGS, context=context, target_path=target)
        # dbt's progress (lib/dbt_progress.py) as log lines of this step: `destinations run` prints them
        progress = DbtProgress(lambda line: context.log.info(NOTE + line))
        try:
            with progress.reading(invocation):
                yield from invocation.stream()
        except Exception as exc:
            cause = dbt_failure_cause(target, str(exc), since=since)
            raise dg.Failure(description=f"dbt build failed: {cause}") from exc
