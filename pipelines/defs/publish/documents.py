"""The documents after each publish, drawn together in one step (report/documents.py): the
annual trustee pack, a governor pack per academy and each academy's public statement, for the
latest leaving year with actual destinations. One serving snapshot version for all of them."""
import time

import dagster as dg

from pipelines.defs.resources import WarehouseResource

TRUSTEE, GOVERNORS, STATEMENTS = "trustee_report", "governor_packs", "public_statements"


def _trust_name() -> str:
    from pipelines.config import trust_config
    return str(trust_config().get("trust_name") or "")


@dg.multi_asset(
    name="documents",
    specs=[
        dg.AssetSpec(TRUSTEE, group_name="publish", kinds={"pdf", "xlsx"}, deps=[dg.AssetKey("serving_snapshot")],
                     description="Annual trustee pack (PDF + XLSX) for the latest leaving year with actual "
                                 "destinations: <data dir>/reports/<YYYY-YY>/. Reads only the published serving "
                                 "Parquet files; drawn again only when the marts it reads changed."),
        dg.AssetSpec(GOVERNORS, group_name="publish", kinds={"pdf"}, deps=[dg.AssetKey("serving_snapshot")],
                     description="A governor pack (PDF) per academy for the latest leaving year with actual "
                                 "destinations: <data dir>/reports/governors/<YYYY-YY>/. Same published serving "
                                 "files as the trustee pack."),
        dg.AssetSpec(STATEMENTS, group_name="publish", kinds={"html", "pdf"}, deps=[dg.AssetKey("serving_snapshot")],
                     description="Each academy's public destinations statement (accessible HTML + PDF) for the "
                                 "latest leaving year with actual destinations: <data dir>/reports/public/<YYYY-YY>/. "
                                 "Reads only public_destination_statement (public-release rules applied to "
                                 "published cells)."),
    ],
    can_subset=False,
)
def documents(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    from pipelines.lib.public.governors import GovernorPackError, governor_batch
    from pipelines.lib.public.statement import StatementDataError, load_rows, statement_batch, statement_years
    from pipelines.lib.publish import read_manifest, resolve_snapshot
    from pipelines.lib.report import ReportDataError, report_years
    from pipelines.lib.report.build import trustee_batch
    from pipelines.lib.report.documents import draw_batches

    p = warehouse.paths
    serving = resolve_snapshot(p.serving)          # one snapshot version for every document
    version = read_manifest(serving).get("version", "")
    skipped: dict[str, str] = {}
    batches, years = [], {}

    years_actual = report_years(serving)
    if not years_actual:
        reason = "no actual (R3) destination data in the serving snapshot yet: no trustee pack built"
        context.log.info(reason)
        skipped[TRUSTEE] = reason
        skipped[GOVERNORS] = "no actual destinations yet"
    else:
        year = years[TRUSTEE] = years[GOVERNORS] = years_actual[0]
        batches.append((TRUSTEE, trustee_batch(serving, year, p.reports / year)))
        try:
            batches.append((GOVERNORS, governor_batch(serving, year, p.reports / "governors" / year)))
        except GovernorPackError as exc:
            context.log.info(f"governor packs skipped: {exc}")
            skipped[GOVERNORS] = str(exc)
    try:
        pub_years = statement_years(load_rows(serving))
        if pub_years:
            years[STATEMENTS] = pub_years[0]
            batches.append((STATEMENTS, statement_batch(serving, pub_years[0], p.reports / "public" / pub_years[0],
                                                        _trust_name())))
        else:
            skipped[STATEMENTS] = "no actual destinations yet"
    except StatementDataError as exc:
        context.log.info(str(exc))
        skipped[STATEMENTS] = str(exc)

    t0 = time.perf_counter()
    out = draw_batches([b for _, b in batches])
    secs = round(time.perf_counter() - t0, 2)
    context.log.info(f"documents drawn in {secs:.1f}s: " + ", ".join(
        f"{b.kind} {len(b.jobs)}" for _, b in batches))
    results = {key: out[b.kind] for key, b in batches}
    failures = []

    got = results.get(TRUSTEE)
    if isinstance(got, ReportDataError):
        context.log.info(f"trustee pack skipped: {got}")
        skipped[TRUSTEE] = str(got)
    elif isinstance(got, BaseException):
        failures.append((TRUSTEE, got))
    elif got is not None:
        year = years[TRUSTEE]
        if version:
            (p.reports / ".built_from_snapshot").write_text(f"{year} {version}\n")
        if not got["rendered"]:
            context.log.info(f"trustee pack for {year}: the marts it reads are unchanged (snapshot {version}): "
                             "not drawn again")
            yield dg.MaterializeResult(asset_key=TRUSTEE, metadata={
                "skipped": True, "reason": "inputs unchanged", "leaving_year": year, "snapshot": version})
        else:
            context.log.info(f"Trustee pack for {year} written to {p.reports / year}")
            yield dg.MaterializeResult(asset_key=TRUSTEE, metadata={
                "skipped": False, "leaving_year": year, "seconds": secs,
                "pdf": dg.MetadataValue.path(str(got["pdf"])), "xlsx": dg.MetadataValue.path(str(got["xlsx"]))})

    for key, folder, what in ((GOVERNORS, "governors", "Governor packs"), (STATEMENTS, "public", "Public statements")):
        got = results.get(key)
        if isinstance(got, BaseException):
            failures.append((key, got))
        elif got is not None:
            year, where = years[key], p.reports / folder / years[key]
            drawn_now = sum(1 for w in got if w["rendered"])
            context.log.info(f"{what} for {year}: {len(got)} academies ({drawn_now} drawn) in {where}")
            yield dg.MaterializeResult(asset_key=key, metadata={
                "skipped": False, "leaving_year": year, "academies": len(got), "drawn": drawn_now,
                "seconds": secs, "folder": dg.MetadataValue.path(str(where))})

    for key, reason in skipped.items():
        yield dg.MaterializeResult(asset_key=key, metadata={"skipped": True, "reason": reason})
    if failures:
        key, exc = failures[0]
        raise RuntimeError(f"{key}: {exc}" + (f" (and {', '.join(k for k, _ in failures[1:])} failed too)"
                                              if failures[1:] else "")) from exc
