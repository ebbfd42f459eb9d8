"""Return reminders over a data directory: read the serving snapshot, plan, deliver, log."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipelines.config import Paths, _load_yaml, trust_config
from pipelines.lib.notify.contacts import academy_contacts
from pipelines.lib.notify.mailer import Delivery, SentLog, SmtpSettings, deliver
from pipelines.lib.notify.reminders import Notification, ReminderSettings, plan_notifications
from pipelines.lib.report.serving import read_served


def outbox_dir(p: Paths) -> Path:
    return p.root / "outbox"


def reminder_settings() -> ReminderSettings:
    try:
        conf = _load_yaml("notifications.yaml")
    except FileNotFoundError:
        conf = {}
    r = conf.get("reminders") or {}
    return ReminderSettings(
        days_before=int(r.get("days_before", 7)), overdue_days=int(r.get("overdue_days", 60)),
        overdue_every_days=int(r.get("overdue_every_days", 7)),
        data_team_email=conf.get("data_team_email") or None,
        trust_name=str(trust_config().get("trust_name") or "The trust"))


def _rows(serving: Path, mart: str) -> list[dict]:
    """A mart as the data team reads it (reminders go out from the trust), declared columns only."""
    return read_served(serving, mart, "trust_admin")


def problems_by_return(serving: Path) -> dict[tuple, list[str]]:
    """(urn, year, round) -> the latest file's problems as lines (rule, count, example rows, fix)."""
    out: dict[tuple, list[str]] = {}
    rows = [r for r in _rows(serving, "return_problem_summary") if r.get("submission_recency") == 1]
    rows.sort(key=lambda r: (r.get("severity") != "error", -(r.get("problems") or 0)))
    for r in rows:
        line = (f"{r.get('severity', 'problem')}: {r.get('example_message') or r.get('rule')} "
                f"({r.get('problems')} time(s); rows {r.get('example_rows') or '-'})")
        if r.get("how_to_fix"):
            line += f". How to fix: {r['how_to_fix']}"
        out.setdefault((r["academy_urn"], r["leaving_year"], r["round"]), []).append(line)
    return out


@dataclass
class NotifyResult:
    planned: list[Notification]
    delivery: Delivery

    def summary(self) -> str:
        d = self.delivery
        return (f"{len(self.planned)} message(s) planned; {len(d.sent)} delivered via {d.via}; "
                f"{len(d.skipped)} already sent for the same event; {len(d.no_address)} without an address; "
                f"{len(d.failed)} failed")


def notify_returns(p: Paths, today: date | None = None, env: dict | None = None) -> NotifyResult:
    today = today or date.today()
    status = _rows(p.serving, "return_status")
    latest_names = {}
    for h in _rows(p.serving, "return_submission_history"):
        if h.get("submission_recency") == 1:
            latest_names[(h.get("academy_urn"), h.get("leaving_year"), h.get("round"))] = h.get("original_name")
    for r in status:
        r["latest_original_name"] = latest_names.get((r["academy_urn"], r["leaving_year"], r["round"]))
    settings = reminder_settings()
    planned = plan_notifications(status, academy_contacts(p.academies_csv), today, settings,
                                 problems_by_return(p.serving))
    box = outbox_dir(p)
    delivery = deliver(planned, SmtpSettings.from_env(env), box, SentLog(box / "sent_log.jsonl"),
                       reply_to=settings.data_team_email)
    return NotifyResult(planned, delivery)
