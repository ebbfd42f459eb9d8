"""Asset checks on the FSQ and Compass raw tables (non-blocking: problems are already fed back
to academies file by file; these surface them in the Dagster UI)."""
import dagster as dg

from pipelines.defs.resources import WarehouseResource


def _files(warehouse: WarehouseResource, kind: str) -> list[tuple]:
    with warehouse.connect() as con:
        con.execute("create schema if not exists raw")
        present = con.execute("select count(*) from information_schema.tables where table_schema = 'raw' "
                              "and table_name = 'careers_files'").fetchone()[0]
        if not present:
            return []
        return con.execute("select source_file, status, errors, warnings from raw.careers_files where kind = ? "
                           "order by source_file", [kind]).fetchall()


def _files_check(warehouse: WarehouseResource, kind: str) -> dg.AssetCheckResult:
    rows = _files(warehouse, kind)
    rejected = [r[0] for r in rows if r[1] == "rejected"]
    return dg.AssetCheckResult(
        passed=not rejected, severity=dg.AssetCheckSeverity.WARN,
        description=(f"{len(rejected)} of {len(rows)} {kind} files rejected (see quarantine/ and feedback/)"
                     if rejected else f"all {len(rows)} {kind} files accepted"),
        metadata={"files": len(rows), "rejected": dg.MetadataValue.json(rejected[:50]),
                  "files_with_errors": sum(1 for r in rows if r[2])})


@dg.asset_check(asset="fsq_responses", description="No FSQ export is rejected.")
def fsq_files_accepted(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return _files_check(warehouse, "fsq")


@dg.asset_check(asset="compass_evaluations", description="No Compass export is rejected.")
def compass_files_accepted(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return _files_check(warehouse, "compass")


@dg.asset_check(asset="fsq_responses",
                description="Every FSQ item has a construct (unmapped items are stored but not scored).")
def fsq_items_mapped(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        try:
            unmapped = con.execute("select item_id, count(*) from raw.fsq_responses where construct is null "
                                   "group by item_id order by 2 desc").fetchall()
        except Exception:  # noqa: BLE001 - table not there yet
            unmapped = []
    return dg.AssetCheckResult(
        passed=not unmapped, severity=dg.AssetCheckSeverity.WARN,
        description=("items not in config/fsq_constructs.yaml: " + ", ".join(i for i, _ in unmapped[:20])
                     if unmapped else "all items mapped"),
        metadata={"unmapped_items": dg.MetadataValue.json({i: n for i, n in unmapped[:50]})})


@dg.asset_check(asset="compass_evaluations",
                description="Each evaluation has benchmarks 1-8 once, under one framework version.")
def compass_evaluations_complete(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        try:
            bad = con.execute("""
                select academy_urn, evaluation_date::varchar, count(distinct benchmark) as n,
                       count(distinct framework_version) as fw
                from raw.compass_evaluations where criterion is null
                group by all having n <> 8 or fw <> 1 order by 1, 2""").fetchall()
        except Exception:  # noqa: BLE001
            bad = []
    return dg.AssetCheckResult(
        passed=not bad, severity=dg.AssetCheckSeverity.WARN,
        description=f"{len(bad)} evaluations incomplete or with mixed framework versions" if bad
        else "every evaluation has 8 benchmarks and one framework version",
        metadata={"evaluations": dg.MetadataValue.json([list(map(str, b)) for b in bad[:50]])})
