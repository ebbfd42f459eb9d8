"""FSQ exports and Compass evaluations -> raw.fsq_responses / raw.compass_evaluations.

Every file is validated (GX suite + plain checks), gets a feedback page under feedback/,
rejected files are copied to quarantine/ with their feedback, accepted ones replace only
their own earlier rows.
"""
import dagster as dg

import pipelines.config  # noqa: F401  (telemetry off)
from pipelines.defs.resources import WarehouseResource
from pipelines.lib.careers.landing import land


def _summary(results) -> dict:
    by = {}
    for r in results:
        by[r.status] = by.get(r.status, 0) + 1
    return {"files_checked": len(results), "by_status": dg.MetadataValue.json(by),
            "rejected_files": dg.MetadataValue.json([r.file for r in results if r.rejected][:50])}


@dg.multi_asset(
    specs=[
        dg.AssetSpec("fsq_responses", group_name="ingest", kinds={"duckdb"},
                     description="FSQ answers, one row per pupil x survey date x item (raw/fsq/<URN>/<YYYY-YY>/)."),
        dg.AssetSpec("fsq_items", group_name="ingest", kinds={"duckdb"},
                     description="FSQ item -> construct mapping from config/fsq_constructs.yaml."),
        dg.AssetSpec("fsq_readiness_bands", group_name="ingest", kinds={"duckdb"},
                     description="Readiness bands for the FSQ-to-destination linkage (config/fsq_constructs.yaml)."),
    ],
    pool="duckdb_warehouse",
)
def fsq_ingest(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.connect() as con:
        results = land("fsq", warehouse.paths, con, log=context.log.info)
        rows = con.execute("select count(*) from raw.fsq_responses").fetchone()[0]
        items = con.execute("select count(*) from raw.fsq_items").fetchone()[0]
    yield dg.MaterializeResult(asset_key="fsq_responses", metadata={**_summary(results), "rows": rows})
    yield dg.MaterializeResult(asset_key="fsq_items", metadata={"items": items})
    yield dg.MaterializeResult(asset_key="fsq_readiness_bands")


@dg.asset(group_name="ingest", kinds={"duckdb"}, pool="duckdb_warehouse",
          description="Compass evaluations per academy x date x benchmark (+ criterion rows), raw/compass/<URN>/.")
def compass_evaluations(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        results = land("compass", warehouse.paths, con, log=context.log.info)
        rows = con.execute("select count(*) from raw.compass_evaluations").fetchone()[0]
    return dg.MaterializeResult(metadata={**_summary(results), "rows": rows})
