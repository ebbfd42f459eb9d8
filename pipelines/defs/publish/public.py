"""Per-academy public outputs after each publish: the website statement and the governor pack."""
import time

import dagster as dg

from pipelines.defs.resources import WarehouseResource


def _trust_name() -> str:
    from pipelines.config import trust_config
    return str(trust_config().get("trust_name") or "")


@dg.asset(group_name="publish", kinds={"html", "pdf"}, deps=[dg.AssetKey("serving_snapshot")],
          description="Each academy's public destinations statement (accessible HTML + PDF) for the latest "
                      "leaving year with actual destinations: <data dir>/reports/public/<YYYY-YY>/. Reads only "
                      "public_destination_statement (public-release rules applied to published cells).")
def public_statements(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from pipelines.lib.public.statement import StatementDataError, load_rows, statement_years, write_statements

    p = warehouse.paths
    try:
        years = statement_years(load_rows(p.serving))
    except StatementDataError as exc:
        context.log.info(str(exc))
        return dg.MaterializeResult(metadata={"skipped": True, "reason": str(exc)})
    if not years:
        return dg.MaterializeResult(metadata={"skipped": True, "reason": "no actual destinations yet"})
    year, t0 = years[0], time.perf_counter()
    out = p.reports / "public" / year
    written = write_statements(p.serving, year, out, _trust_name())
    context.log.info(f"Public statements for {year}: {len(written)} academies in {out}")
    return dg.MaterializeResult(metadata={
        "skipped": False, "leaving_year": year, "academies": len(written),
        "seconds": round(time.perf_counter() - t0, 2), "folder": dg.MetadataValue.path(str(out))})


@dg.asset(group_name="publish", kinds={"pdf"}, deps=[dg.AssetKey("serving_snapshot")],
          description="A governor pack (PDF) per academy for the latest leaving year with actual destinations: "
                      "<data dir>/reports/governors/<YYYY-YY>/. Same published serving files as the trustee pack.")
def governor_packs(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from pipelines.lib.public.governors import GovernorPackError, write_governor_packs
    from pipelines.lib.report import report_years

    p = warehouse.paths
    years = report_years(p.serving)
    if not years:
        return dg.MaterializeResult(metadata={"skipped": True, "reason": "no actual destinations yet"})
    year, t0 = years[0], time.perf_counter()
    out = p.reports / "governors" / year
    try:
        written = write_governor_packs(p.serving, year, out)
    except GovernorPackError as exc:
        context.log.info(f"governor packs skipped: {exc}")
        return dg.MaterializeResult(metadata={"skipped": True, "reason": str(exc)})
    context.log.info(f"Governor packs for {year}: {len(written)} academies in {out}")
    return dg.MaterializeResult(metadata={
        "skipped": False, "leaving_year": year, "academies": len(written),
        "seconds": round(time.perf_counter() - t0, 2), "folder": dg.MetadataValue.path(str(out))})
