"""Plain-English feedback for one FSQ or Compass file: a text file and an HTML page.

(The destination-return package had no shared report renderer when this was written, so
this is a small equivalent; both use the shared `Problem`.)
"""
from __future__ import annotations

import html
from datetime import datetime, timezone

from pipelines.lib.careers.results import FileResult

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
    lines += [p.line() for p in res.problems] or ["No problems found."]
    return "\n".join(lines) + "\n"


def render_html(res: FileResult) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr class='{esc(p.severity)}'><td>{esc({'file': 'REJECTED', 'error': 'Error', 'warning': 'Warning'}[p.severity])}"
        f"</td><td>{'' if p.row is None else p.row}</td><td>{esc(p.column or '')}</td>"
        f"<td>{esc(p.value or '')}</td><td>{esc(p.message)}</td><td>{esc(p.fix)}</td></tr>"
        for p in res.problems)
    table = (f"<table><thead><tr><th>Severity</th><th>Row</th><th>Column</th><th>Value</th>"
             f"<th>What is wrong</th><th>How to fix it</th></tr></thead><tbody>{rows}</tbody></table>"
             if res.problems else "<p>No problems found.</p>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Feedback: {esc(res.file)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}
tr.file td{{background:#fdd}}tr.error td{{background:#ffe9d6}}tr.warning td{{background:#fff8d6}}</style></head>
<body><h1>{esc(KIND_LABEL.get(res.kind, res.kind))}</h1>
<p>File <code>{esc(res.file)}</code>, academy URN {esc(res.academy_urn)}
{('' if not res.academic_year else ', academic year ' + esc(res.academic_year))}.</p>
<p><strong>{esc(summary_line(res))}</strong></p>
<p>Row numbers are the rows you see when you open the file in Excel (the header row counts).</p>
{table}
</body></html>
"""
