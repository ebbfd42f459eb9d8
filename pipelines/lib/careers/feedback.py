"""Plain-English feedback for one FSQ or Compass file, through the one renderer (intake.feedback)."""
from __future__ import annotations

from datetime import datetime, timezone

from pipelines.lib.careers.results import FileResult
from pipelines.lib.intake.feedback import page, problem_lines

KIND_LABEL = {"fsq": "Future Skills Questionnaire export", "compass": "Compass evaluation"}


def summary_line(res: FileResult) -> str:
    c = res.counts()
    if res.rejected:
        head = "REJECTED: nothing from this file was loaded; data loaded earlier is still used."
    elif res.problems:
        head = (f"ACCEPTED with problems: {res.rows_loaded} of {res.rows_total} rows loaded; "
                f"{c['error']} error(s) excluded values, {c['warning']} warning(s).")
    else:
        head = f"ACCEPTED: all {res.rows_total} rows loaded."
    return head


def render_text(res: FileResult) -> str:
    lines = [f"{KIND_LABEL.get(res.kind, res.kind)}: {res.file}",
             f"Academy URN {res.academy_urn}" + (f", academic year {res.academic_year}" if res.academic_year else ""),
             f"Checked {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
             summary_line(res), ""]
    lines += problem_lines(res.problems, per_rule=None) or ["No problems found."]
    return "\n".join(lines) + "\n"


def render_html(res: FileResult) -> str:
    label = KIND_LABEL.get(res.kind, res.kind)
    facts = [("File", res.file), ("Academy URN", res.academy_urn)]
    if res.academic_year:
        facts.append(("Academic year", res.academic_year))
    return page(f"Feedback: {res.file}", label, res.status, summary_line(res), facts, [], res.problems)
