"""The blank return template: headers, instructions, drop-down lists for every coded column."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pipelines.config as cfg
from pipelines.lib.returns import spec

RETURN_SHEET = "Return"
CODES_SHEET = "Code lists"


def code_lists() -> dict[str, list[str]]:
    """Drop-down values per coded column (as written into the template; all accepted on submission)."""
    dest = [f"{c} - {row['label']}" for c, row in cfg.destination_codes().items()]
    return {
        "year_group": ["11", "12", "13", "14"],
        "sex": ["M", "F"],
        "disadvantaged": ["Y", "N"],
        "sen_provision": ["N", "K", "E"],
        "destination_code": dest,
        "fsm_eligible": ["Y", "N"],
        "looked_after": ["Y", "N"],
        "ethnicity": sorted(spec.ethnicity_codes()),
        "route": spec.routes(),
        "level": list(spec.LEVELS),
        "september_guarantee": list(spec.SEPTEMBER_GUARANTEE),
        "consent_follow_up": ["Y", "N"],
    }


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def write_template(out: Path, rows: int = 500) -> Path:
    import xlsxwriter

    out.parent.mkdir(parents=True, exist_ok=True)
    lists = code_lists()
    wb = xlsxwriter.Workbook(str(out))
    wb.set_properties({"title": "Destination return template", "author": "Trust Destinations"})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    head_req = wb.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1})
    text = wb.add_format({"num_format": "@"})
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws = wb.add_worksheet(RETURN_SHEET)
    codes = wb.add_worksheet(CODES_SHEET)
    ins = wb.add_worksheet("Instructions")

    # code lists (visible, so careers leaders can look codes up)
    bold = wb.add_format({"bold": True})
    ranges: dict[str, str] = {}
    for j, (col, values) in enumerate(lists.items()):
        codes.write_string(0, j, col, bold)
        for i, v in enumerate(values, start=1):
            codes.write_string(i, j, v)
        letter = _col_letter(j)
        ranges[col] = f"='{CODES_SHEET}'!${letter}$2:${letter}${len(values) + 1}"
        codes.set_column(j, j, 44 if col in ("destination_code", "route") else 16)

    for j, c in enumerate(spec.COLUMNS):
        ws.write_string(0, j, c.name, head_req if c.required else head)
        ws.write_comment(0, j, f"{'Required' if c.required else 'Optional'}: {c.description}")
        width = 44 if c.name in ("destination_code", "route", "provider") else max(14, len(c.name) + 2)
        fmt = datefmt if c.kind == "date" else text
        ws.set_column(j, j, width, fmt)
        last = rows
        if c.name in ranges:
            ws.data_validation(1, j, last, j, {
                "validate": "list", "source": ranges[c.name], "ignore_blank": True,
                "error_title": f"Invalid {c.name}",
                "error_message": f"Choose a value from the list ({spec.KIND_ALLOWED.get(c.kind, '')})"[:255],
            })
        elif c.kind == "date":
            ws.data_validation(1, j, last, j, {
                "validate": "date", "criteria": "between",
                "minimum": date(2000, 1, 1),
                "maximum": date(2100, 12, 31),
                "error_message": "Enter a date such as 2025-10-01",
            })
        elif c.name == "upn":
            ws.data_validation(1, j, last, j, {
                "validate": "length", "criteria": "==", "value": 13,
                "error_message": "A UPN has 13 characters: a check letter, 11 digits and a digit or letter",
            })
    ws.freeze_panes(1, 0)

    ins.set_column(0, 0, 24)
    ins.set_column(1, 1, 12)
    ins.set_column(2, 2, 90)
    lines = [
        ("How to complete the destination return", "", ""),
        ("", "", ""),
        ("1.", "", "One row per leaver (Year 11 and Year 12-14) on the 'Return' sheet; keep the header row."),
        ("2.", "", "Use the drop-down lists: codes or their labels are both accepted ('Code lists' sheet)."),
        ("3.", "", "Required columns (orange) must be filled for every pupil; optional columns (blue) may be blank."),
        ("4.", "", "Intended rounds (R1, R2): the intended destination; UND if the pupil has not decided."),
        ("", "", "Actual round (R3): what the pupil is actually doing; UND is not allowed."),
        ("5.", "", "Submit with: destinations submit FILE --urn URN --year YYYY-YY --round R1|R2|R3 "
                   "(or the dashboard's Upload page). You get a feedback report listing every problem."),
        ("", "", ""),
        ("Column", "Required", "Values"),
    ]
    lines += [(c.name, "yes" if c.required else "no", c.description) for c in spec.COLUMNS]
    for i, (a, b, c) in enumerate(lines):
        fmt = bold if i in (0, 9) else None
        ins.write_string(i, 0, a, fmt)
        ins.write_string(i, 1, b, fmt)
        ins.write_string(i, 2, c, fmt)
    ws.activate()
    wb.close()
    return out
