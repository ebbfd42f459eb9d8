"""Published benchmark files under raw/benchmarks (plus the shipped seed) -> raw tables.

`raw.benchmark_measures_raw` (one row per published figure, harmonised) feeds the dbt mart
`benchmark_measures`; `raw.gias_links` (predecessor/successor URNs) lets the marts follow
academy conversions. Unrecognised or damaged files are reported, never fatal.
"""

import dagster as dg

from pipelines.defs.resources import WarehouseResource
from pipelines.lib.benchmarks import scan_benchmarks
from pipelines.lib.warehouse import replace_table

TABLES = {
    "benchmark_measures_raw": "Every published benchmark figure read from raw/benchmarks and the shipped seed, "
                              "harmonised to the trust's names, one row per figure and publication.",
    "gias_links": "GIAS links (predecessor/successor URNs) from a GIAS links download in raw/benchmarks.",
    "gias_establishments": "GIAS establishment rows (URN, LA, type, trust) from an edubasealldata extract.",
    "gias_establishment_types": "GIAS establishment type lookup.",
}


@dg.multi_asset(
    specs=[dg.AssetSpec(name, description=desc, group_name="ingest", kinds={"duckdb"}) for name, desc in TABLES.items()],
    pool="duckdb_warehouse",
    can_subset=False,
)
def benchmark_files(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Recognise every file under raw/benchmarks by its content, read it, add the seed."""
    root = warehouse.paths.benchmarks
    result = scan_benchmarks(root)
    for w in result.warnings:
        context.log.warning(w)
    with warehouse.connect() as con:
        con.execute("create schema if not exists raw")
        replace_table(con, "raw.benchmark_measures_raw", result.measures)
        for name, table in result.tables.items():
            replace_table(con, f"raw.{name}", table)
    files = [{"file": f.file, "status": f.status, "format": f.kind, "rows": f.rows, "message": f.message}
             for f in result.files]
    summary = result.summary()
    yield dg.MaterializeResult(asset_key="benchmark_measures_raw", metadata={
        "rows": result.measures.height,
        "rows_by_source": dg.MetadataValue.json(summary["rows_by_source"]),
        "files_by_status": dg.MetadataValue.json(summary["files"]),
        "files": dg.MetadataValue.json(files),
        "unrecognised_or_failed": dg.MetadataValue.md(
            "\n".join(f"- {f.message}" for f in result.files if f.status in ("unrecognised", "failed")) or "none"),
    })
    for name, table in result.tables.items():
        yield dg.MaterializeResult(asset_key=name, metadata={"rows": table.height})
