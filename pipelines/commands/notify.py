"""destinations notify [--today YYYY-MM-DD] [--dry-run]"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "notify", help="email academies whose return is due soon, due today, overdue or rejected",
        description="Send today's return reminders (and the data team's digest) from the serving snapshot: "
                    "through SMTP when DESTINATIONS_SMTP_HOST is set, else into <data dir>/outbox/. An event "
                    "already sent is never sent again. The pipeline also does this after every run.")
    p.add_argument("--today", metavar="YYYY-MM-DD", help="plan as if it were this day (default: today)")
    p.add_argument("--dry-run", action="store_true", help="print what would be sent; send and record nothing")
    p.set_defaults(func=_notify)


def _notify(args) -> int:
    import sys
    from datetime import date

    from pipelines.config import paths
    from pipelines.lib.notify import notify_returns
    from pipelines.lib.notify.contacts import academy_contacts
    from pipelines.lib.notify.reminders import plan_notifications
    from pipelines.lib.notify.run import _rows, problems_by_return, reminder_settings

    try:
        today = date.fromisoformat(args.today) if args.today else date.today()
    except ValueError:
        print(f"destinations notify: --today must be a date like 2026-12-08, got {args.today!r}", file=sys.stderr)
        return 2
    p = paths()
    if not (p.serving / "return_status.parquet").exists():
        print(f"destinations notify: no return_status in {p.serving}: run `destinations run` first.", file=sys.stderr)
        return 1
    if args.dry_run:
        planned = plan_notifications(_rows(p.serving, "return_status"), academy_contacts(p.academies_csv), today,
                                     reminder_settings(), problems_by_return(p.serving))
        for n in planned:
            print(f"  to {n.to or '(no address)'}: {n.subject}")
        print(f"{len(planned)} message(s) would be sent (dry run: nothing sent or recorded)")
        return 0
    try:
        res = notify_returns(p, today=today)
    except ValueError as exc:  # e.g. a bad DESTINATIONS_SMTP_PORT
        print(f"destinations notify: {exc}", file=sys.stderr)
        return 2
    for n in res.delivery.sent:
        print(f"  sent to {n.to}: {n.subject}")
    for n, why in res.delivery.failed:
        print(f"  NOT sent to {n.to}: {why}", file=sys.stderr)
    print(res.summary())
    if res.delivery.files:
        print(f"Outbox: {res.delivery.files[0].parent}")
    return 1 if res.delivery.failed else 0
