"""Feedback for the academy: an HTML report per file and the text `destinations submit` prints."""
from __future__ import annotations

import html
from dataclasses import dataclass, field

from pipelines.lib.problems import Problem
from pipelines.lib.returns.validate import Changes

STATUS_TEXT = {
    "accepted": "Accepted",
    "accepted_with_warnings": "Accepted with problems listed below",
    "rejected": "Rejected: nothing from this file was loaded",
    "unchanged": "Unchanged: identical to the file already submitted",
    "superseded": "Superseded by a newer file",
}


@dataclass
class FeedbackInfo:
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

    @property
    def warnings(self) -> int:
        if self.counts is not None:
            return self.counts.get("warning", 0)
        return sum(1 for p in self.problems if p.severity == "warning")

    @property
    def errors(self) -> int:
        if self.counts is not None:
            return self.counts.get("error", 0)
        return sum(1 for p in self.problems if p.severity == "error")


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
    for n in info.notes:
        lines.append(f"  note: {n}")
    # Print at most PER_RULE lines of one kind (e.g. 300 pupils missing since R2); all are in the report.
    seen: dict[str, int] = {}
    shown, hidden = [], {}
    for p in info.problems:
        seen[p.rule] = seen.get(p.rule, 0) + 1
        if seen[p.rule] > PER_RULE:
            hidden[p.rule] = hidden.get(p.rule, 0) + 1
        else:
            shown.append(p)
    shown = shown if max_lines is None else shown[:max_lines]
    if shown:
        lines.append("Problems:")
        lines.extend("  " + p.line() for p in shown)
        for rule, n in hidden.items():
            lines.append(f"  ... and {n} more like '{rule}' in the feedback report")
        left = len(info.problems) - len(shown) - sum(hidden.values())
        if left > 0:
            lines.append(f"  ... and {left} more in the report")
    if report_path:
        lines.append(f"Feedback report: {report_path}")
    return "\n".join(lines)


PER_RULE = 10

SHORT_STATUS = {"accepted": "ACCEPTED", "accepted_with_warnings": "ACCEPTED WITH PROBLEMS",
                "rejected": "REJECTED", "unchanged": "UNCHANGED", "superseded": "SUPERSEDED"}

_CSS = """
body{font-family:Segoe UI,Arial,sans-serif;margin:2em;color:#1d1d1d;max-width:70em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em}
.status{padding:.6em 1em;border-radius:4px;font-weight:bold;display:inline-block}
.accepted{background:#d9f2e0}.accepted_with_warnings{background:#fff2cc}.rejected{background:#f8d7da}
.unchanged,.superseded{background:#e2e3e5}
table{border-collapse:collapse;width:100%;margin-top:.5em}
th,td{border:1px solid #ccc;padding:.35em .5em;text-align:left;vertical-align:top;font-size:.92em}
th{background:#f2f2f2}td.file{color:#842029;font-weight:bold}td.error{color:#842029}td.warning{color:#7a5b00}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}
"""


def _e(v: object) -> str:
    return html.escape("" if v is None else str(v))


def render_html(info: FeedbackInfo) -> str:
    sev_label = {"file": "File rejected", "error": "Row excluded", "warning": "Warning"}
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Destination return feedback: {_e(info.academy_urn)} {_e(info.leaving_year)} {_e(info.round_id)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Destination return feedback</h1>",
        f"<p class='status {_e(info.status)}'>{_e(STATUS_TEXT.get(info.status, info.status))}</p>",
        "<dl>",
        f"<dt>Academy</dt><dd>{_e(info.academy_urn)} {_e(info.academy_name or '')}</dd>",
        f"<dt>Leaving year</dt><dd>{_e(info.leaving_year)}</dd>",
        f"<dt>Round</dt><dd>{_e(info.round_id)}: {_e(info.round_label)}</dd>",
        f"<dt>File</dt><dd>{_e(info.file_name)}</dd>",
        f"<dt>Submitted</dt><dd>{_e(info.submitted_at)} by {_e(info.submitted_by)}</dd>",
    ]
    if info.due_date:
        parts.append(f"<dt>Due</dt><dd>{_e(info.due_date)}{' (late)' if info.is_late else ''}</dd>")
    parts.append(f"<dt>SHA-256</dt><dd><code>{_e(info.sha256)}</code></dd></dl>")
    parts += [
        "<h2>Summary</h2><table><tr><th>Pupil rows in the file</th><th>Accepted</th><th>Excluded</th>"
        "<th>Errors</th><th>Warnings</th></tr>",
        f"<tr><td>{info.rows_total}</td><td>{info.rows_accepted}</td><td>{info.rows_rejected}</td>"
        f"<td>{info.errors}</td><td>{info.warnings}</td></tr></table>",
    ]
    if info.status == "rejected":
        parts.append("<p><strong>The whole file was rejected.</strong> Nothing from it was loaded, and the data "
                     "already held for your academy and this round is unchanged. Fix the problems marked "
                     "<em>File rejected</em> (and any others) and submit the file again.</p>")
    elif info.rows_rejected:
        parts.append(f"<p>{info.rows_rejected} row(s) were excluded and the rest loaded. Correct the rows "
                     "marked <em>Row excluded</em> and submit the whole file again.</p>")
    for n in info.notes:
        parts.append(f"<p><em>Note: {_e(n)}</em></p>")
    c = info.changes
    parts.append("<h2>Changes since the previous round</h2>")
    if c is None or not c.previous_round_id:
        parts.append("<p>No earlier round of this leaving year is on record for your academy, so there is "
                     "nothing to compare with.</p>")
    else:
        parts.append(f"<p>Compared with your {_e(c.previous_round_id)} return: <strong>{len(c.added)}</strong> "
                     f"pupil(s) added, <strong>{len(c.removed)}</strong> no longer returned, "
                     f"<strong>{len(c.changed)}</strong> with a different destination.</p>")
        if c.changed:
            parts.append("<table><tr><th>UPN</th><th>Previous destination</th><th>Now</th></tr>")
            parts += [f"<tr><td>{_e(u)}</td><td>{_e(a)}</td><td>{_e(b)}</td></tr>" for u, a, b in c.changed[:500]]
            parts.append("</table>")
        if c.added:
            parts.append(f"<p>Added: {_e(', '.join(c.added[:500]))}</p>")
        if c.removed:
            parts.append(f"<p>No longer returned: {_e(', '.join(c.removed[:500]))}</p>")
    parts.append("<h2>Problems</h2>")
    if not info.problems:
        parts.append("<p>No problems found. Thank you.</p>")
    else:
        parts.append("<table><tr><th>Row</th><th>Column</th><th>Value</th><th>Outcome</th>"
                     "<th>What is wrong</th><th>How to fix it</th></tr>")
        for p in info.problems:
            parts.append(
                f"<tr><td>{_e(p.row if p.row is not None else '')}</td><td>{_e(p.column or '')}</td>"
                f"<td>{_e(p.value or '')}</td><td class='{p.severity}'>{sev_label[p.severity]}</td>"
                f"<td>{_e(p.message)}</td><td>{_e(p.fix)}</td></tr>")
        parts.append("</table>")
    parts.append("<p style='margin-top:2em;font-size:.85em;color:#555'>Row numbers are the rows you see in Excel, "
                 "counting title rows and the header row.</p></body></html>")
    return "\n".join(parts)
