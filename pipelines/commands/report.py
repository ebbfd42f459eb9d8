"""destinations report --year YYYY-YY --out DIR"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help="write the annual trustee pack (PDF + XLSX) for a leaving year",
        description="Write the annual trustee pack for one leaving year from the published serving snapshot "
                    "of the data directory: a PDF for trustees and an XLSX with every table.")
    p.add_argument("--year", required=True, metavar="YYYY-YY", help="leaving year of the cohort, e.g. 2024-25")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write the pack into")
    p.set_defaults(func=_report)


def _report(args) -> int:
    import sys
    import time
    from pathlib import Path

    from pipelines.config import paths
    from pipelines.lib.report import ReportDataError, build_pack, valid_year

    if not valid_year(args.year):
        print(f"destinations report: --year must be a leaving year like 2024-25, got {args.year!r}", file=sys.stderr)
        return 2
    serving = paths().serving
    t0 = time.perf_counter()
    try:
        out = build_pack(args.year, Path(args.out), serving)
    except ReportDataError as exc:
        print(f"destinations report: {exc}", file=sys.stderr)
        return 1
    print(f"Trustee pack for {args.year} written in {time.perf_counter() - t0:.1f}s:")
    print(f"  PDF:  {out['pdf']}")
    print(f"  XLSX: {out['xlsx']}")
    print(f"  charts: {len(out['charts'])} PNG files in {Path(args.out) / 'charts'}")
    return 0
