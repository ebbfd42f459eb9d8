"""dbt models as Dagster assets; dbt data tests become asset checks.

dbt keeps its state per data directory (<data>/warehouse/dbt/target: run results, partial
parse, logs), so two data directories never share it. Unit tests (they test SQL logic, not
data) run in `make test`, not in every build. A failed build names the real cause.
"""

from typing import Any, Mapping

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.defs.resources import WarehouseResource
from pipelines.lib.dbt_manifest import dbt_failure_cause, dbt_project, ensure_manifest, log_size


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
        invocation = dbt.cli(BUILD_ARGS, context=context, target_path=target)
        try:
            yield from invocation.stream()
        except Exception as exc:
            cause = dbt_failure_cause(target, str(exc), since=since)
            raise dg.Failure(description=f"dbt build failed: {cause}") from exc
