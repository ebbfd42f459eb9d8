"""`destinations submit FILE --urn URN --year YYYY-YY --round R1|R2|R3`"""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "submit",
        help="validate one academy return, print the feedback and file it (landing zone or quarantine)",
        description="Validate one academy destination return (CSV or XLSX), print every problem with its "
                    "row number, and file it under raw/returns/<URN>/<YYYY-YY>/<round>/ if accepted or "
                    "quarantine/ if rejected, with an HTML feedback report next to it. "
                    "Exit 0 accepted (problems listed), 1 rejected, 2 bad arguments.")
    p.add_argument("file", help="the return file (.csv or .xlsx)")
    p.add_argument("--urn", required=True, help="6-digit URN of the academy")
    p.add_argument("--year", required=True, help="leaving year of the cohort, e.g. 2024-25")
    p.add_argument("--round", required=True, dest="round_id", help="collection round, e.g. R1, R2, R3")
    p.add_argument("--by", default=None, help="who is submitting (default: the login name)")
    p.add_argument("--confirm-smaller", action="store_true",
                   help="replace the return already loaded even though this file has far fewer pupils "
                        "(only when the cohort really shrank)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    import getpass
    import sys
    from pathlib import Path

    from pipelines.lib.returns.submit import check_arguments, submit_file

    problem = check_arguments(args.urn, args.year, args.round_id)
    path = Path(args.file).expanduser()
    if problem is None and not path.is_file():
        problem = f"file not found: {path}"
    if problem:
        print(f"destinations submit: error: {problem}", file=sys.stderr)
        return 2
    try:
        who = args.by or getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        who = "cli"
    outcome = submit_file(path, academy_urn=args.urn, leaving_year=args.year, round_id=args.round_id,
                          submitted_by=who, confirm_smaller=args.confirm_smaller)
    print(outcome.summary_text)
    if outcome.stored_path is not None:
        print(f"Filed as: {outcome.stored_path}")
    return outcome.exit_code
