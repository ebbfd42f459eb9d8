"""Blocking checks on the loaded returns: the GX suite and the rules GX cannot express."""
import warnings

import dagster as dg

from pipelines.defs.partitions import return_partitions
from pipelines.defs.resources import WarehouseResource

RETURNS_KEY = dg.AssetKey(["destination_returns"])
# partitioned asset checks are a Dagster 1.13 preview; the warning is noise in every run
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")


def _partition_rows(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    """Rows of the partition being checked (whole table when the check runs unpartitioned)."""
    import polars as pl

    from pipelines.lib.returns.ingest import ensure_return_tables

    where, params, label = "true", [], "all partitions"
    if context.has_partition_key:
        keys = context.partition_key.keys_by_dimension
        where, params = "leaving_year = ? and round = ?", [keys["leaving_year"], keys["round"]]
        label = f"{keys['leaving_year']} {keys['round']}"
    with warehouse.connect() as con:
        ensure_return_tables(con)
        arrow = con.execute(f"select * from raw.destination_returns where {where}", params).arrow()
    return pl.from_arrow(arrow), label


@dg.asset_check(
    asset=RETURNS_KEY,
    name="destination_returns_expectations",
    blocking=True,
    partitions_def=return_partitions,
    description="Great Expectations suite expectations/destination_returns.json on the loaded rows of the partition.",
)
def destination_returns_expectations(context: dg.AssetCheckExecutionContext,
                                     warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from pipelines.lib.returns.gx_suite import validate_frame

    rows, label = _partition_rows(context, warehouse)
    result = validate_frame(rows.to_pandas())
    return dg.AssetCheckResult(
        passed=result.success,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"partition": label, "rows": rows.height, "evaluated": result.evaluated,
                  "failed": len(result.failures), "failures": dg.MetadataValue.md(result.markdown())},
    )


@dg.asset_check(
    asset=RETURNS_KEY,
    name="destination_returns_rules",
    blocking=True,
    partitions_def=return_partitions,
    description="UPN check letters, UND only in intended rounds, no pre-16 codes, one current file per academy.",
)
def destination_returns_rules(context: dg.AssetCheckExecutionContext,
                              warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from pipelines.lib.returns.rules import loaded_rule_failures

    rows, label = _partition_rows(context, warehouse)
    failures = loaded_rule_failures(rows)
    md = "\n".join(f"- {f['rule']}: {f['count']} (e.g. {', '.join(map(str, f['examples']))})" for f in failures)
    return dg.AssetCheckResult(
        passed=not failures,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"partition": label, "rows": rows.height,
                  "failures": dg.MetadataValue.md(md or "All rules passed.")},
    )
