"""destinations subject-access --upn UPN / destinations erase --upn UPN: serve a data subject."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def register(subparsers) -> None:
    s = subparsers.add_parser(
        "subject-access", help="everything held about one pupil (subject access request)",
        description="Find one pupil (by UPN) in every landed file, quarantined file, feedback report "
                    "and warehouse table, also under their pseudonym, and write it all to one JSON "
                    "file for the response (0600). Prints where it was found.")
    s.add_argument("--upn", required=True)
    s.add_argument("--out", help="JSON file to write (default: <data dir>/subject_access/<UPN>.json)")
    s.add_argument("--by", default=None, help="who is serving the request (for the audit trail)")
    s.set_defaults(func=_sar)

    sub = subparsers.add_parser(
        "erase", help="remove one pupil from every file and table (erasure request)",
        description="Delete the pupil's rows from the landed returns, FSQ exports and quarantined "
                    "files, redact them from feedback, then rebuild the warehouse from the landing "
                    "zone. Aggregates change by that pupil. --dry-run lists what would change.")
    sub.add_argument("--upn", required=True)
    sub.add_argument("--dry-run", action="store_true")
    sub.add_argument("--no-rebuild", action="store_true")
    sub.add_argument("--by", default=None)
    sub.set_defaults(func=_erase)


def _sar(args) -> int:
    import os

    from pipelines.config import paths
    from pipelines.lib.privacy import subject
    try:
        found = subject.subject_access(args.upn, on_wait=print)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else paths().root / "subject_access" / f"{found['upn']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(found, fh, indent=1, default=str)
    from pipelines.lib.privacy import audit
    audit.record("subject_access", user=args.by or os.environ.get("USER"), outcome="served",
                 files=len(found["files"]), tables=len(found["tables"]))
    print(f"{found['upn']}: found in {len(found['files'])} files and {len(found['tables'])} tables"
          + (f" (also as pseudonym {found['pseudonym']})" if found.get("pseudonym_found") else ""))
    for f in found["files"]:
        print(f"  file  {f['path']} ({len(f['rows'])} rows)")
    for t in found["tables"]:
        print(f"  table {t['table']} ({len(t['rows'])} rows)")
    if found["warehouse"].startswith("not searched"):
        print(f"  warehouse {found['warehouse']}")
    print(f"Written to {out}")
    return 0


def _erase(args) -> int:
    import os

    from pipelines.lib.privacy import subject

    def rebuild(root):
        from pipelines.runner import run_pipeline
        return run_pipeline(root, echo=lambda s: None)
    try:
        rep = subject.erase(args.upn, dry_run=args.dry_run,
                            rebuild=None if args.no_rebuild else rebuild,
                            by=args.by or os.environ.get("USER"))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    verb = "would remove" if args.dry_run else "removed"
    print(f"{rep['upn']}: {verb} {rep['rows_removed']} rows from {len(rep['files'])} files; "
          f"{rep['feedback_redacted']} feedback files redacted")
    for f in rep["files"]:
        print(f"  {f}")
    if rep.get("rebuilt") is not None:
        print("  warehouse rebuilt" if rep["rebuilt"] else "  warehouse rebuild FAILED: run `destinations run`")
    return 0 if rep.get("rebuilt") in (None, True) else 1
