"""Who gets which email today: pure planning from the return status rows (no I/O).

Events per academy x leaving year x round (each is sent once; the sent log keys on it):
  due_soon     not received, due within `days_before` days
  due_today    not received, due today
  overdue_<n>  not received, past due (n counts `overdue_every_days` periods, so it repeats)
  rejected_<t> the latest file (sent at t) was rejected
One email per academy x year x round covers all of its events that day; the data team gets
a digest of everything planned.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime

MAX_PROBLEMS = 10


@dataclass
class Notification:
    kind: str                      # academy | digest
    to: str | None                 # None: no address in the register (listed in the digest)
    subject: str
    body: str
    keys: list[str]                # sent-log keys (academy:year:round:event)
    academy_urn: str | None = None
    academy_name: str | None = None
    leaving_year: str | None = None
    round: str | None = None
    events: list[str] = field(default_factory=list)
    status: str = ""               # one line for the digest


@dataclass(frozen=True)
class ReminderSettings:
    days_before: int = 7
    overdue_days: int = 60
    overdue_every_days: int = 7
    data_team_email: str | None = None
    trust_name: str = "The trust"


def _as_date(v) -> date | None:
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v)[:10])
    except ValueError:
        return None


def long_date(d: date) -> str:
    return f"{d.strftime('%A')} {d.day} {d.strftime('%B %Y')}"


def events_for(row: dict, today: date, s: ReminderSettings) -> list[tuple[str, str]]:
    """(event, status line) for one return_status row."""
    due = _as_date(row.get("due_date"))
    if due is None:
        return []
    out: list[tuple[str, str]] = []
    received = bool(row.get("is_submitted"))
    if (row.get("latest_submission_status") == "rejected" and row.get("last_submitted_at") is not None):
        sent_at = row["last_submitted_at"]
        stamp = sent_at.strftime("%Y%m%dT%H%M%S") if isinstance(sent_at, datetime) else str(sent_at)
        name = row.get("latest_original_name") or "your latest file"
        out.append((f"rejected_{stamp}",
                    f"REJECTED: {name} (sent {_as_date(sent_at) or sent_at}) could not be used"
                    + ("; the file accepted earlier is still in use" if received else "")))
    if not received:
        days = (due - today).days
        if 0 < days <= s.days_before:
            out.append(("due_soon", f"NOT YET RECEIVED: due in {days} day{'s' if days != 1 else ''}"))
        elif days == 0:
            out.append(("due_today", "NOT YET RECEIVED: due today"))
        elif -s.overdue_days <= days < 0:
            late = -days
            n = (late - 1) // max(1, s.overdue_every_days)
            out.append((f"overdue_{n}", f"OVERDUE by {late} day{'s' if late != 1 else ''}: nothing usable received"))
    return out


def academy_email(row: dict, events: list[tuple[str, str]], problems: list[str], s: ReminderSettings,
                  to: str | None) -> Notification:
    urn, year, rnd = row["academy_urn"], row["leaving_year"], row["round"]
    name = row.get("academy_name") or f"Academy {urn}"
    due = _as_date(row["due_date"])
    label = row.get("round_label") or rnd
    worst = events[0][1].split(":")[0].capitalize() if events else "Reminder"
    subject = f"{s.trust_name}: {rnd} destination return {year} for {name} - {worst.lower()}"
    lines = [
        "Dear careers leader,",
        "",
        f"This is about the destination return of {name} (URN {urn}).",
        "",
        f"  Return:   {rnd} - {label}, pupils leaving in {year}",
        f"  Due:      {long_date(due)}",
    ]
    for i, (_, status) in enumerate(events):
        lines.append(f"  {'Status:' if i == 0 else '':<9} {status}")
    if problems:
        lines += ["", f"What was wrong with the file (first {min(len(problems), MAX_PROBLEMS)}"
                      f" of {len(problems)} kinds of problem):"]
        lines += [f"  - {p}" for p in problems[:MAX_PROBLEMS]]
    if row.get("feedback_path"):
        lines += ["", f"The full feedback report is {row['feedback_path']} in the trust's data folder "
                      "(also on the dashboard's Upload page)."]
    lines += [
        "",
        "How to send it: upload the file on the trust dashboard's Upload page (or send it to the data "
        "team). The template is on the same page. A corrected file replaces the previous one.",
        "",
        f"This is an automatic message from the {s.trust_name} data team"
        + (f" ({s.data_team_email}); reply to that address with any questions." if s.data_team_email else "."),
    ]
    keys = [f"{urn}:{year}:{rnd}:{ev}" for ev, _ in events]
    return Notification("academy", to, subject, "\n".join(lines) + "\n", keys, urn, name, year, rnd,
                        [ev for ev, _ in events], "; ".join(st for _, st in events))


def plan_notifications(status_rows: list[dict], contacts: dict[str, dict], today: date,
                       settings: ReminderSettings, problems: dict[tuple, list[str]] | None = None,
                       ) -> list[Notification]:
    """Academy emails for today's events, then one digest for the data team (if anything is planned)."""
    problems = problems or {}
    out: list[Notification] = []
    for row in sorted(status_rows, key=lambda r: (str(r.get("leaving_year")), str(r.get("round")),
                                                  str(r.get("academy_name")))):
        evs = events_for(row, today, settings)
        if not evs:
            continue
        contact = contacts.get(row["academy_urn"], {})
        probs = problems.get((row["academy_urn"], row["leaving_year"], row["round"]), []) \
            if any(ev.startswith("rejected") for ev, _ in evs) or row.get("return_status") == "rejected_only" else []
        out.append(academy_email(row, evs, probs, settings, contact.get("email")))
    if out and settings.data_team_email:
        out.append(digest(out, today, settings))
    return out


def digest(items: list[Notification], today: date, s: ReminderSettings) -> Notification:
    no_address = [n for n in items if n.to is None]
    lines = [f"Returns chasing, {long_date(today)}: {len(items)} academy message(s) planned.", ""]
    for n in items:
        to = n.to or "NO ADDRESS in the register (careers_leader_email): chase by phone"
        lines.append(f"- {n.academy_name} ({n.academy_urn}) {n.round} {n.leaving_year}: {n.status} -> {to}")
    if no_address:
        lines += ["", f"{len(no_address)} academy(ies) have no careers_leader_email in raw/academies.csv."]
    lines += ["", "Messages already sent for the same event are not sent again (outbox/sent_log.jsonl)."]
    token = hashlib.sha256("|".join(k for n in items for k in n.keys).encode()).hexdigest()[:12]
    return Notification("digest", s.data_team_email,
                        f"{s.trust_name}: returns chasing digest {today.isoformat()} ({len(items)} academies)",
                        "\n".join(lines) + "\n", [f"trust:{today.isoformat()}:digest:{token}"],
                        status=f"{len(items)} academies")
