"""The annual trustee pack (PDF + XLSX) from the published serving snapshot.

Stable entry points (the CLI, the Dagster asset and the dashboard use these):
    build_pack(year, out_dir, serving_dir, generated_at=None) -> {"pdf", "xlsx", "summary", "charts"}
    report_years(serving_dir) -> leaving years with actual destinations, newest first
"""
from pipelines.lib.report.build import ReportDataError, build_pack, report_years, valid_year

__all__ = ["ReportDataError", "build_pack", "report_years", "valid_year"]
