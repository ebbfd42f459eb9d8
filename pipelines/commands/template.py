"""`destinations template --out FILE.xlsx`"""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "template",
        help="write the blank destination return template (XLSX with drop-down lists)",
        description="Write the blank academy return template: the column headers, an instructions "
                    "sheet and drop-down lists (Excel data validation) for every coded column.")
    p.add_argument("--out", required=True, help="the .xlsx file to write")
    p.add_argument("--rows", type=int, default=500, help="rows with drop-downs (default 500)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    import sys
    from pathlib import Path

    from pipelines.lib.returns.template import write_template

    out = Path(args.out).expanduser()
    if out.suffix.lower() != ".xlsx":
        print("destinations template: error: --out must end in .xlsx", file=sys.stderr)
        return 2
    if args.rows < 1 or args.rows > 100_000:
        print("destinations template: error: --rows must be between 1 and 100000", file=sys.stderr)
        return 2
    write_template(out, rows=args.rows)
    print(f"Template written: {out.resolve()}")
    return 0
