"""The annual trustee pack, rebuilt after each publish for the latest leaving year with actual (R3) data."""
import time

import dagster as dg

from pipelines.defs.resources import WarehouseResource


@dg.asset(group_name="publish", kinds={"pdf", "xlsx"}, deps=[dg.AssetKey("serving_snapshot")],
          description="Annual trustee pack (PDF + XLSX) for the latest leaving year with actual destinations: "
                      "<data dir>/reports/<YYYY-YY>/. Reads only the published serving Parquet files.")
def trustee_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from pipelines.lib.publish import read_manifest, resolve_snapshot
    from pipelines.lib.report import ReportDataError, report_years
    from pipelines.lib.report.build import write_trustee_pack

    p = warehouse.paths
    serving = resolve_snapshot(p.serving)          # one snapshot version for the whole pack
    version = read_manifest(serving).get("version", "")
    marker = p.reports / ".built_from_snapshot"    # which snapshot the pack on disk shows
    years = report_years(serving)
    if not years:
        reason = "no actual (R3) destination data in the serving snapshot yet: no trustee pack built"
        context.log.info(reason)
        return dg.MaterializeResult(metadata={"skipped": True, "reason": reason})
    year, t0 = years[0], time.perf_counter()
    try:
        out = write_trustee_pack(serving, year, p.reports / year)
    except ReportDataError as exc:
        context.log.info(f"trustee pack skipped: {exc}")
        return dg.MaterializeResult(metadata={"skipped": True, "reason": str(exc)})
    secs = time.perf_counter() - t0
    if version:
        marker.write_text(f"{year} {version}\n")
    if not out["rendered"]:
        context.log.info(f"trustee pack for {year}: the marts it reads are unchanged (snapshot {version}): "
                         "not drawn again")
        return dg.MaterializeResult(metadata={"skipped": True, "reason": "inputs unchanged",
                                              "leaving_year": year, "snapshot": version})
    context.log.info(f"Trustee pack for {year} written to {p.reports / year} in {secs:.1f}s")
    return dg.MaterializeResult(metadata={
        "skipped": False, "leaving_year": year, "seconds": round(secs, 2),
        "pdf": dg.MetadataValue.path(str(out["pdf"])), "xlsx": dg.MetadataValue.path(str(out["xlsx"])),
    })
