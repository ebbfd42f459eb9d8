"""dbt models as Dagster assets; dbt data tests become asset checks."""

from typing import Any, Mapping

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.defs.resources import WarehouseResource
from pipelines.lib.dbt_manifest import dbt_project, ensure_manifest



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


@dbt_assets(
    manifest=ensure_manifest(),
    project=dbt_project,
    dagster_dbt_translator=translator,
    pool="duckdb_warehouse",
)
def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    warehouse.dbt_env()
    yield from dbt.cli(["build"], context=context).stream()
