"""The serving snapshot the dashboard and exports read: every mart as Parquet."""

import dagster as dg

from pipelines.defs.resources import WarehouseResource
from pipelines.lib.dbt_manifest import mart_models
from pipelines.lib.publish import publish_tables

MARTS = mart_models()


@dg.asset(group_name="publish", kinds={"parquet"}, pool="duckdb_warehouse",
          deps=[dg.AssetKey([m]) for m in MARTS],
          description="warehouse/serving/<mart>.parquet for every dbt mart, swapped in atomically.")
def serving_snapshot(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    rows = publish_tables(warehouse.paths.warehouse, warehouse.paths.serving, MARTS)
    missing = sorted(set(MARTS) - set(rows))
    if missing:
        context.log.warning(f"Marts not in the warehouse, not published: {missing}")
    return dg.MaterializeResult(metadata={
        "serving_dir": str(warehouse.paths.serving),
        "rows": dg.MetadataValue.json(rows),
    })
