"""Feedback for the academy: an HTML report per file and the text `destinations submit` prints."""
from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.lib.intake.feedback import Raw, esc, page, problem_lines
from pipelines.lib.problems import Problem, ProblemCounts
from pipelines.lib.returns.validate import Changes

STATUS_TEXT = {
    "accepted": "Accepted",
    "accepted_with_warnings": "Accepted with problems listed below",
    "rejected": "Rejected: nothing from this file was loaded",
    "unchanged": "Unchanged: identical to the file already submitted",
    "superseded": "Superseded by a newer file",
}


@dataclass
class FeedbackInfo(ProblemCounts):
    file_name: str
    academy_urn: str
    academy_name: str | None
    leaving_year: str
    round_id: str
    round_label: str
    status: str
    submitted_at: str
    submitted_by: str
    sha256: str
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    problems: list[Problem]
    changes: Changes | None = None
    due_date: str | None = None
    is_late: bool = False
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] | None = None      # severity -> problems found (the list may be capped)
    conflicts: list = field(default_factory=list)   # data team only: (row, UPN, other URN)
    confirmed_smaller: bool = False


def summary_text(info: FeedbackInfo, report_path: str | None = None, max_lines: int | None = None) -> str:
    who = f"{info.academy_urn}" + (f" {info.academy_name}" if info.academy_name else "")
    lines = [
        f"{SHORT_STATUS.get(info.status, info.status.upper())}: {info.file_name}",
        f"  academy {who}, leaving year {info.leaving_year}, round {info.round_id}",
        f"  pupil rows: {info.rows_total} read, {info.rows_accepted} accepted, "
        f"{info.rows_rejected} excluded; {info.errors} error(s), {info.warnings} warning(s)",
    ]
    if info.status == "rejected":
        lines.append("  The whole file was rejected; data already loaded for this academy and round is unchanged.")
    if info.status == "unchanged":
        lines.append("  This file is identical to the one already submitted; nothing changed.")
    if info.due_date:
        lines.append(f"  due {info.due_date}" + (" (submitted late)" if info.is_late else ""))
    if info.changes is not None and info.changes.previous_round_id:
        c = info.changes
        lines.append(f"  since {c.previous_round_id}: {len(c.added)} pupil(s) added, {len(c.removed)} "
                     f"no longer returned, {len(c.changed)} changed destination")
    lines += [f"  note: {n}" for n in info.notes]
    if info.problems:
        lines.append("Problems:")
        lines += problem_lines(info.problems, max_lines=max_lines)
    if report_path:
        lines.append(f"Feedback report: {report_path}")
    return "\n".join(lines)


SHORT_STATUS = {"accepted": "ACCEPTED", "accepted_with_warnings": "ACCEPTED WITH PROBLEMS",
                "rejected": "REJECTED", "unchanged": "UNCHANGED", "superseded": "SUPERSEDED"}


def render_html(info: FeedbackInfo) -> str:
    facts = [("Academy", f"{info.academy_urn} {info.academy_name or ''}"), ("Leaving year", info.leaving_year),
             ("Round", f"{info.round_id}: {info.round_label}"), ("File", info.file_name),
             ("Submitted", f"{info.submitted_at} by {info.submitted_by}")]
    if info.due_date:
        facts.append(("Due", f"{info.due_date}{' (late)' if info.is_late else ''}"))
    facts.append(("SHA-256", Raw(f"<code>{esc(info.sha256)}</code>")))
    body = [
        "<h2>Summary</h2><table><tr><th>Pupil rows in the file</th><th>Accepted</th><th>Excluded</th>"
        "<th>Errors</th><th>Warnings</th></tr>",
        f"<tr><td>{info.rows_total}</td><td>{info.rows_accepted}</td><td>{info.rows_rejected}</td>"
        f"<td>{info.errors}</td><td>{info.warnings}</td></tr></table>",
    ]
    if info.status == "rejected":
        body.append("<p><strong>The whole file was rejected.</strong> Nothing from it was loaded, and the data "
                    "already held for your academy and this round is unchanged. Fix the problems marked "
                    "<em>File rejected</em> (and any others) and submit the file again.</p>")
    elif info.rows_rejected:
        body.append(f"<p>{info.rows_rejected} row(s) were excluded and the rest loaded. Correct the rows "
                    "marked <em>Row excluded</em> and submit the whole file again.</p>")
    body += [f"<p><em>Note: {esc(n)}</em></p>" for n in info.notes]
    c = info.changes
    body.append("<h2>Changes since the previous round</h2>")
    if c is None or not c.previous_round_id:
        body.append("<p>No earlier round of this leaving year is on record for your academy, so there is "
                    "nothing to compare with.</p>")
    else:
        body.append(f"<p>Compared with your {esc(c.previous_round_id)} return: <strong>{len(c.added)}</strong> "
                    f"pupil(s) added, <strong>{len(c.removed)}</strong> no longer returned, "
                    f"<strong>{len(c.changed)}</strong> with a different destination.</p>")
        if c.changed:
            body.append("<table><tr><th>UPN</th><th>Previous destination</th><th>Now</th></tr>"
                        + "".join(f"<tr><td>{esc(u)}</td><td>{esc(a)}</td><td>{esc(b)}</td></tr>"
                                  for u, a, b in c.changed[:500]) + "</table>")
        if c.added:
            body.append(f"<p>Added: {esc(', '.join(c.added[:500]))}</p>")
        if c.removed:
            body.append(f"<p>No longer returned: {esc(', '.join(c.removed[:500]))}</p>")
    return page(f"Destination return feedback: {info.academy_urn} {info.leaving_year} {info.round_id}",
                "Destination return feedback", info.status, STATUS_TEXT.get(info.status, info.status),
                facts, body, info.problems)
