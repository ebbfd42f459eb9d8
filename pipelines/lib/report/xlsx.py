"""Every table of the pack in one workbook: a sheet each, with title, notes and fixed formats."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import xlsxwriter

from pipelines.lib.report.model import Pack, Table

MAX_SHEET = 31


def sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", name).strip()[:MAX_SHEET] or "Sheet"
    out, i = base, 2
    while out.lower() in used:
        suffix = f" ({i})"
        out, i = base[:MAX_SHEET - len(suffix)] + suffix, i + 1
    used.add(out.lower())
    return out


def render_xlsx(pack: Pack, path: Path, creation_date: datetime,
                extra_sheets: list[tuple[str, str, list[str]]] = ()) -> dict[str, str]:
    """Write the workbook; returns table id -> sheet name. Text is always written as text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                        "strings_to_numbers": False})
    wb.set_properties({"title": f"{pack.trust_name}: leavers' destinations {pack.year}",
                       "author": pack.trust_name, "company": pack.trust_name,
                       "created": creation_date.replace(tzinfo=None), "comments": "Published figures only."})
    f_title = wb.add_format({"bold": True, "font_size": 14, "font_color": "#1F3C6E"})
    f_sub = wb.add_format({"italic": True, "font_color": "#555555"})
    f_head = wb.add_format({"bold": True, "bg_color": "#1F3C6E", "font_color": "#FFFFFF", "text_wrap": True,
                            "valign": "top", "border": 1})
    f_text = wb.add_format({"valign": "top"})
    f_count = wb.add_format({"num_format": "#,##0"})
    f_pct = wb.add_format({"num_format": "0.0"})
    f_pp = wb.add_format({"num_format": "+0.0;-0.0;0.0"})
    f_c = wb.add_format({"align": "right", "font_color": "#7F7F7F"})
    f_note = wb.add_format({"text_wrap": False, "font_color": "#333333"})
    fmt = {"count": f_count, "pct": f_pct, "number": f_pct, "pp": f_pp}
    used: set[str] = set()
    names: dict[str, str] = {}

    # contents and summary first
    ws = wb.add_worksheet(sheet_name("Summary", used))
    ws.write_string(0, 0, f"{pack.trust_name}: leavers' destinations {pack.year}, annual report to trustees", f_title)
    ws.write_string(1, 0, f"Generated {pack.generated_at}. Actual destinations ({pack.round}). "
                          "Published (suppressed) figures only: c = withheld to protect pupils.", f_sub)
    ws.write_string(3, 0, "Headline findings", f_head)
    for i, f in enumerate(pack.findings, start=4):
        ws.write_string(i, 0, f.text, f_text)
    row = 5 + len(pack.findings)
    ws.write_string(row, 0, "Sheets in this workbook", f_head)
    tables = pack.tables()
    planned = []
    for t in tables:
        planned.append((t, sheet_name(t.id, used)))
    for t, sn in planned:
        row += 1
        ws.write_url(row, 0, f"internal:'{sn}'!A1", string=f"{sn}: {t.title}")
    for title, _, _ in extra_sheets:
        row += 1
        ws.write_string(row, 0, title)
    ws.set_column(0, 0, 120)

    charts_of = {}  # the first table of a section carries the section's charts, beside the table
    for sec in pack.sections:
        if sec.charts and sec.tables and sec.id not in pack.xlsx_only:
            charts_of[id(sec.tables[0])] = sec.charts
    for t, sn in planned:
        names[t.id] = sn
        ws = wb.add_worksheet(sn)
        row_at = 3
        for ch in charts_of.get(id(t), []):
            if Path(ch.path).is_file():
                ws.write_string(row_at - 1, len(t.columns) + 1, ch.caption, f_note)
                ws.insert_image(row_at, len(t.columns) + 1, ch.path, {"x_scale": 0.55, "y_scale": 0.55,
                                                                       "object_position": 3})
                from PIL import Image
                with Image.open(ch.path) as im:
                    row_at += int(im.size[1] * 0.55 / 20) + 3
        ws.write_string(0, 0, t.title, f_title)
        ws.write_string(1, 0, f"{pack.trust_name}, leaving year {pack.year}. Percentages to 1 decimal place; "
                              "pp = percentage points.", f_sub)
        for j, c in enumerate(t.columns):
            ws.write_string(3, j, c.label, f_head)
            ws.set_column(j, j, max(11, min(40, int(c.width * 12))) if c.kind == "text" else 12)
        ws.set_row(3, 30)
        for i, (r, vals) in enumerate(zip(t.rows, t.cell_values()), start=4):
            for j, (v, c) in enumerate(zip(vals, t.columns)):
                if isinstance(v, str):
                    ws.write_string(i, j, v, f_c if v in ("c", "-", "z") and c.kind != "text" else f_text)
                else:
                    ws.write_number(i, j, v, fmt.get(t.kind(i - 4, c), f_text))
        ws.freeze_panes(4, 0)
        n0 = 5 + len(t.rows)
        ws.write_string(n0, 0, "Notes", f_head)
        for k, note in enumerate(t.notes, start=1):
            ws.write_string(n0 + k, 0, note, f_note)
    for title, sid, lines in extra_sheets:
        sn = sheet_name(sid, used)
        ws = wb.add_worksheet(sn)
        ws.write_string(0, 0, title, f_title)
        for k, line in enumerate(lines, start=2):
            ws.write_string(k, 0, line, f_note)
        ws.set_column(0, 0, 140)
        names[sid] = sn
    wb.close()
    tmp.replace(path)
    return names
