"""The serving snapshot the dashboard and exports read: every mart as Parquet, switched as a whole."""

import dagster as dg

from pipelines.defs.resources import WarehouseResource
from pipelines.lib.dbt_manifest import mart_models
from pipelines.lib.publish import collect_garbage, publish_snapshot

MARTS = mart_models()


@dg.asset(group_name="publish", kinds={"parquet"},
          deps=[dg.AssetKey([m]) for m in MARTS],
          description="warehouse/serving/<mart>.parquet for every dbt mart: a versioned folder "
                      "(serving.<version>/) behind one symlink swapped atomically; unchanged marts "
                      "are not rewritten and a run where no mart changed publishes nothing.")
def serving_snapshot(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    p = warehouse.paths
    with warehouse.lock():
        snap = publish_snapshot(p.warehouse, p.serving, MARTS)
        collect_garbage(p.serving)
    missing = sorted(set(MARTS) - set(snap.rows))
    if missing:
        context.log.warning(f"Marts not in the warehouse, not published: {missing}")
    context.log.info(f"published {len(snap.changed)} changed mart(s) of {len(snap.rows)}"
                     + (f" as version {snap.version}" if snap.new_version else "; snapshot unchanged"))
    return dg.MaterializeResult(metadata={
        "serving_dir": str(p.serving),
        "version": snap.version,
        "new_version": snap.new_version,
        "changed": dg.MetadataValue.json(snap.changed),
        "rows": dg.MetadataValue.json(snap.rows),
    })
