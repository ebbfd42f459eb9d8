"""Table cells drawn without fpdf's per-call machinery (report/pdf.py `_cell`, `_width`): the same
bytes as fpdf's own `cell` and `get_string_width`, so a pack's PDF is unchanged."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pipelines.lib.report import pdf as P
from pipelines.lib.report.model import SUPPRESSED, Column, Table

WHEN = datetime(2025, 12, 1, 9, 0, tzinfo=timezone.utc)


def _table() -> Table:
    cols = [Column("academy", "Academy", "text", 3), Column("group", "Breakdown", "text", 2),
            Column("n", "Leavers", "count"), Column("eet", "EET %", "pct"), Column("gap", "Gap to the national figure (percentage points)", "pp")]
    rows = []
    for k in range(120):     # two pages: the header repeats, the row loop meets page breaks
        rows.append([f"Academy {k // 7} with a name far too long for its column, cut with an ellipsis"
                     if k % 5 == 0 else f"Academy {k // 7}",
                     ["Disadvantaged Female", "All", "", "Ysgol Gŵyr – ≤ 15 {nb}", "Ethnicity major"][k % 5],
                     SUPPRESSED if k % 11 == 0 else k * 13, None if k % 13 == 0 else (k * 7.31) % 100,
                     (k % 9) - 4.05])
    return Table("t", "Where leavers went", cols, rows, notes=["Small groups are shown as c."], group_column=0)


def _draw(core: bool) -> bytes:
    pdf = P.new_pdf("t", "Trust", "footer {nb}", creation_date=WHEN, core_fonts=core)
    pdf.add_page()
    P.render_table(pdf, _table())
    pdf.set_text_color(*P.ZEBRA)       # text the colour of the fill: no colour change in the cell
    pdf.set_fill_color(*P.ZEBRA)
    P._cell(pdf, 40, 4, "same colour", True, True, P._fast_cells(pdf))
    P._cell(pdf, 40, 4, "", False, True, P._fast_cells(pdf))
    P._cell(pdf, 40, 4, "", False, False, P._fast_cells(pdf))
    pdf.ln(4)
    pdf.set_y(pdf.h - 17)              # a cell that breaks the page: fpdf's own cell draws it
    P._cell(pdf, 40, 4, "after the break", False, True, P._fast_cells(pdf))
    return bytes(pdf.output())


@pytest.mark.parametrize("core", [True, False])
def test_cells_are_fpdfs_own_bytes(core, monkeypatch):
    calls = []
    cell = P.FPDF.cell
    monkeypatch.setattr(P.FPDF, "cell", lambda self, *a, **kw: calls.append(1) or cell(self, *a, **kw))
    fast = _draw(core)
    assert len(calls) < 120              # most of the 600 cells drawn by _cell itself
    monkeypatch.undo()
    monkeypatch.setattr(P, "_fast_cells", lambda pdf: False)    # every cell through pdf.cell
    assert fast == _draw(core)


def test_width_is_fpdfs_measure():
    pdf = P.new_pdf("t", "Trust", "f", creation_date=WHEN, core_fonts=True)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 6.1)
    pdf.cell(10, 4, "x")             # fpdf sets the font on the page with its first text
    assert P._fast_cells(pdf)
    for text in ["", "c", "Not disadv. Female", "Gŵyr – ≤ 15", "x {nb} y"]:
        assert P._width(pdf, text, True) == pdf.get_string_width(text)
