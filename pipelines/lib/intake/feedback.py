"""The one feedback renderer: an HTML page and plain text for any file that arrived.

Callers (returns, FSQ, Compass) supply the facts and paragraphs; the problem list, its table,
the per-rule cap in text and the page style live here once.
"""
from __future__ import annotations

import html

from pipelines.lib.problems import Problem

TEXT_PER_RULE = 10      # text output: problems of one rule printed; the rest are in the report
SEVERITY_LABEL = {"file": "File rejected", "error": "Row excluded", "warning": "Warning"}

CSS = """
body{font-family:Segoe UI,Arial,sans-serif;margin:2em;color:#1d1d1d;max-width:70em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em}
.status{padding:.6em 1em;border-radius:4px;font-weight:bold;display:inline-block}
.accepted{background:#d9f2e0}.accepted_with_warnings,.accepted_with_problems{background:#fff2cc}
.rejected{background:#f8d7da}.unchanged,.superseded{background:#e2e3e5}
table{border-collapse:collapse;width:100%;margin-top:.5em}
th,td{border:1px solid #ccc;padding:.35em .5em;text-align:left;vertical-align:top;font-size:.92em}
th{background:#f2f2f2}td.file{color:#842029;font-weight:bold}td.error{color:#842029}td.warning{color:#7a5b00}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}
"""


def esc(v: object) -> str:
    return html.escape("" if v is None else str(v))


def problems_table(problems: list[Problem]) -> str:
    if not problems:
        return "<p>No problems found. Thank you.</p>"
    rows = "".join(
        f"<tr><td>{esc(p.row if p.row is not None else '')}</td><td>{esc(p.column or '')}</td>"
        f"<td>{esc(p.value or '')}</td><td class='{esc(p.severity)}'>{SEVERITY_LABEL[p.severity]}</td>"
        f"<td>{esc(p.message)}</td><td>{esc(p.fix)}</td></tr>" for p in problems)
    return ("<table><tr><th>Row</th><th>Column</th><th>Value</th><th>Outcome</th><th>What is wrong</th>"
            f"<th>How to fix it</th></tr>{rows}</table>")


def page(title: str, heading: str, status: str, status_text: str, facts: list[tuple[str, object]],
         body: list[str], problems: list[Problem]) -> str:
    """A whole feedback page. `body`: HTML fragments placed between the facts and the problems."""
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{v if isinstance(v, Raw) else esc(v)}</dd>" for k, v in facts)
    return "\n".join([
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{esc(heading)}</h1>",
        f"<p class='status {esc(status)}'>{esc(status_text)}</p>",
        f"<dl>{dl}</dl>", *body,
        "<h2>Problems</h2>", problems_table(problems),
        "<p style='margin-top:2em;font-size:.85em;color:#555'>Row numbers are the rows you see in Excel, "
        "counting title rows and the header row.</p></body></html>"])


class Raw(str):
    """A fact value that is already HTML (e.g. <code>)."""


def problem_lines(problems: list[Problem], per_rule: int | None = TEXT_PER_RULE,
                  max_lines: int | None = None) -> list[str]:
    """Text lines: at most `per_rule` problems of one rule, then '... and N more like ...'."""
    seen: dict[str, int] = {}
    shown, hidden = [], {}
    for p in problems:
        seen[p.rule] = seen.get(p.rule, 0) + 1
        if per_rule is not None and seen[p.rule] > per_rule:
            hidden[p.rule] = hidden.get(p.rule, 0) + 1
        else:
            shown.append(p)
    shown = shown if max_lines is None else shown[:max_lines]
    lines = ["  " + p.line() for p in shown]
    lines += [f"  ... and {n} more like '{rule}' in the feedback report" for rule, n in hidden.items()]
    left = len(problems) - len(shown) - sum(hidden.values())
    if left > 0:
        lines.append(f"  ... and {left} more in the report")
    return lines
