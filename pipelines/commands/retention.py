"""destinations retention [--dry-run]: apply the retention policy in config/trust.yaml."""
from __future__ import annotations

import json
import sys
from datetime import date


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "retention", help="pseudonymise pupils past the retention period, strip and purge quarantine",
        description="Apply config/trust.yaml `retention:`: pupils whose last leaving year ended more "
                    "than pseudonymise_after_years ago get a keyed pseudonym instead of their UPN in "
                    "every file (and, after the rebuild, every table); quarantined files keep only the "
                    "return's columns and are emptied after quarantine_days. Aggregates are unchanged. "
                    "Prints what it changed; --dry-run changes nothing.")
    p.add_argument("--dry-run", action="store_true", help="report what would change; change nothing")
    p.add_argument("--as-of", help="apply the policy as of this date (YYYY-MM-DD; default today)")
    p.add_argument("--no-rebuild", action="store_true",
                   help="do not rebuild the warehouse afterwards (then run `destinations run`)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from pipelines.lib.privacy import retention
    try:
        as_of = date.fromisoformat(args.as_of) if args.as_of else None
        pol = retention.policy()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def rebuild(root):
        from pipelines.runner import run_pipeline
        return run_pipeline(root, echo=lambda s: None)

    rep = retention.apply(today=as_of, dry_run=args.dry_run, pol=pol,
                          rebuild=None if args.no_rebuild else rebuild)
    print(json.dumps(rep.summary(), indent=1) if args.json else "\n".join(rep.lines()))
    return 1 if rep.problems else 0
