"""Fonts parsed once and subsets made once per process (report/pdffonts.py): a document's bytes are
exactly those of fpdf's own path, whether its subset is made fresh or reused, core or full fonts."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from fpdf import FPDF

from pipelines.lib.report import pdffonts
from pipelines.lib.report.pdf import _PDF, _heading, _para, new_pdf

WHEN = datetime(2025, 12, 1, 9, 0, tzinfo=timezone.utc)
TEXTS = ["Hill Top Academy: 45.5% went on to education – NEET 3.1%",
         "Hill Top Academy: 45.5% went on to education – NEET 3.1%",          # same glyphs: reused subset
         "Brook Special Academy (c) ÉÀ 12 ≤ 15; Ysgol Gŵyr",                  # other glyphs: a new subset
         "Hill Top Academy: 45.5% went on to education – NEET 3.1%"]


def _draw(text: str, core: bool) -> bytes:
    pdf = new_pdf("t", "Trust", "footer", creation_date=WHEN, core_fonts=core)
    pdf.add_page()
    _heading(pdf, text)
    _para(pdf, text * 3)
    _para(pdf, text, 8, "I")
    return bytes(pdf.output())


@pytest.mark.parametrize("core", [True, False])
def test_same_bytes_as_fpdfs_own_fonts(core, monkeypatch):
    pdffonts._subsets.clear()
    reused = [_draw(t, core) for t in TEXTS]
    made = len(pdffonts._subsets)
    assert made == 6                     # two glyph sets x three styles: the others were reused

    # fpdf's own path: every font read from its file, every subset made, per document
    monkeypatch.setattr(pdffonts, "add_font", lambda pdf, family, style, path: pdf.add_font(family, style, str(path)))
    monkeypatch.setattr(_PDF, "output", FPDF.output)
    own = [_draw(t, core) for t in TEXTS]
    assert len(pdffonts._subsets) == made
    assert reused == own
    assert reused[0] == reused[1] and reused[0] != reused[2]


def test_a_document_keeps_its_own_glyphs(monkeypatch):
    """Fonts shared between documents: one document's characters never enter another's subset."""
    pdffonts._subsets.clear()
    a = new_pdf("a", "T", "f", creation_date=WHEN, core_fonts=True)
    b = new_pdf("b", "T", "f", creation_date=WHEN, core_fonts=True)
    a.add_page()
    b.add_page()
    _para(a, "Zebra quartz")
    _para(b, "only ordinary words")
    used = {k: {g.glyph_name for g, _ in f.subset.items() if g} for k, f in b.fonts.items()}
    assert "Z" not in used["dejavu"] and "q" not in used["dejavu"]
    assert a.fonts["dejavu"].ttfont is not b.fonts["dejavu"].ttfont
    assert a.fonts["dejavu"].cw is not b.fonts["dejavu"].cw


def test_remembered_text_widths_are_fpdfs():
    """A text's width is remembered per font file only when the file has all its characters (fpdf
    records a missing one on lookup); each width is the one fpdf's own method gives."""
    from fpdf.fonts import TTFFont

    from pipelines.lib.report.pdf import core_font
    pdf = FPDF()
    pdffonts.add_font(pdf, "D", "", core_font("DejaVuSans.ttf"))
    font = pdf.fonts["d"]
    memo = pdffonts._widths[font.ttffile][1]
    memo.clear()
    for text in TEXTS + ["c", "", "12.5%"]:
        assert font.get_text_width(text, 9.5, None) == TTFFont.get_text_width(font, text, 9.5, None)
        assert text in memo
    assert font.get_text_width(TEXTS[0], 7, None) == TTFFont.get_text_width(font, TEXTS[0], 7, None)
    missing = "Ysgol 一"                       # a character the core font lacks
    before = len(font.cw)
    assert font.get_text_width(missing, 9.5, None)[1] == pytest.approx(
        TTFFont.get_text_width(font, missing, 9.5, None)[1])
    assert missing not in memo and len(font.cw) == before + 1      # recorded as fpdf records it
    other = FPDF()                               # another document: its own widths, the memo shared
    pdffonts.add_font(other, "D", "", core_font("DejaVuSans.ttf"))
    assert other.fonts["d"].get_text_width(TEXTS[2], 9.5, None) == TTFFont.get_text_width(font, TEXTS[2], 9.5, None)
    assert len(other.fonts["d"].cw) == before
