"""destinations publish-web --year YYYY-YY --out DIR  (and destinations governor-pack)"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "publish-web", help="write each academy's public destinations statement (HTML + PDF) for its website",
        description="Write, for every academy with actual destinations in the leaving year, a self-contained "
                    "accessible HTML page and a PDF for its website: where leavers went after KS4 and after 16-18, "
                    "three years side by side, with England's figure. Public-release rules (dbt vars td:public:*) "
                    "are applied to the published figures; nothing else is shown.")
    p.add_argument("--year", required=True, metavar="YYYY-YY", help="leaving year, e.g. 2024-25")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write the pages into")
    p.set_defaults(func=_publish_web)

    g = subparsers.add_parser(
        "governor-pack", help="write a governor pack (PDF) per academy for a leaving year",
        description="Write one short PDF per academy for its link governor: destinations, NEET, gaps, goals, "
                    "Compass and similar schools, against the trust and England (published figures only).")
    g.add_argument("--year", required=True, metavar="YYYY-YY", help="leaving year, e.g. 2024-25")
    g.add_argument("--out", required=True, metavar="DIR", help="folder to write the packs into")
    g.add_argument("--urn", action="append", metavar="URN", help="only this academy (repeatable)")
    g.set_defaults(func=_governor_pack)


def _check_year(cmd: str, year: str) -> bool:
    import sys

    from pipelines.lib.report import valid_year
    if not valid_year(year):
        print(f"destinations {cmd}: --year must be a leaving year like 2024-25, got {year!r}", file=sys.stderr)
        return False
    return True


def _publish_web(args) -> int:
    import sys
    import time
    from pathlib import Path

    from pipelines.config import paths, trust_config
    from pipelines.lib.public.statement import StatementDataError, write_statements

    if not _check_year("publish-web", args.year):
        return 2
    t0 = time.perf_counter()
    try:
        written = write_statements(paths().serving, args.year, Path(args.out),
                                   str(trust_config().get("trust_name") or ""))
    except StatementDataError as exc:
        print(f"destinations publish-web: {exc}", file=sys.stderr)
        return 1
    print(f"Public destinations statements for {args.year}: {len(written)} academies "
          f"in {time.perf_counter() - t0:.1f}s ({Path(args.out) / 'index.html'})")
    for w in written:
        print(f"  {w['academy_name']}: {w['html']}  {w['pdf'].name}")
    return 0


def _governor_pack(args) -> int:
    import sys
    import time
    from pathlib import Path

    from pipelines.config import paths
    from pipelines.lib.public.governors import GovernorPackError, write_governor_packs

    if not _check_year("governor-pack", args.year):
        return 2
    t0 = time.perf_counter()
    try:
        written = write_governor_packs(paths().serving, args.year, Path(args.out), urns=args.urn)
    except GovernorPackError as exc:
        print(f"destinations governor-pack: {exc}", file=sys.stderr)
        return 1
    print(f"Governor packs for {args.year}: {len(written)} academies in {time.perf_counter() - t0:.1f}s")
    for w in written:
        print(f"  {w['academy_name']}: {w['pdf']}")
    return 0
