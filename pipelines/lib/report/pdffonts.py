"""Fonts for many PDF documents in one process: each font file is read once, and each embedded
subset is made once.

fpdf reads the whole font file for every document (`add_font`: about 15 ms a style) and makes a
subset of it for every document it writes (`output`: about 20 ms a style). For 96 governor packs
of three styles that was most of their time. Here a document gets a copy of a font parsed once
(its own glyph map, widths and descriptor; the parsed tables are shared, read only), and a subset
already made in this process for the same font file and the same glyphs is embedded again: the
bytes fontTools makes for them, which depend only on the file and the glyph set. A document's bytes
are the same as with fpdf's own path (tests/report/test_pdffonts.py).
"""
from __future__ import annotations

import copy
import functools
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

from fontTools import subset as ftsubset
from fontTools import ttLib
from fpdf import FPDF
from fpdf import output as fpdf_output
from fpdf.fonts import SubsetMap, TTFFont
from fpdf.output import OutputProducer

MAX_SUBSETS = 512          # subsets kept per process (a few kB each)
_subsets: dict[tuple, tuple[bytes, dict[str, int]]] = {}
MAX_WIDTHS = 200_000       # text widths kept per font file
_widths: dict[str, tuple[int, dict[str, int | float]]] = {}   # file -> (its widths' count, text -> width sum)


class _Font(TTFFont):
    """fpdf's font, remembering the width of each text it measured, per font file and process.

    fpdf measures a line's text again for each character it adds (line breaking), and the same
    notes and labels in every document. The width is the sum of the characters' widths (whole
    numbers from the file), so a remembered sum is the one fpdf would compute. A text with a
    character the file lacks is never remembered: fpdf's lookup records it (default width)."""
    __slots__ = ()

    def get_text_width(self, text, font_size_pt, text_shaping_params):
        known = _widths.get(self.ttffile)
        if known is None or text_shaping_params or self.is_symbol:
            return super().get_text_width(text, font_size_pt, text_shaping_params)
        if font_size_pt > self.biggest_size_pt:
            self.biggest_size_pt = font_size_pt
        count, memo = known
        w = memo.get(text)
        if w is None:
            cw = self.cw
            w = sum(map(cw.__getitem__, map(ord, text)))
            if len(cw) == count:              # every character was in the file's widths
                if len(memo) >= MAX_WIDTHS:
                    memo.clear()
                memo[text] = w
        return len(text), w * font_size_pt * 0.001


class _DocumentFont(ttLib.TTFont):
    """A document's own handle on a font file, opened lazily (nothing is read unless its subset
    has to be made). Once subset, it answers fpdf's glyph ids and writes the subset's bytes."""

    def __init__(self, path: str):
        super().__init__(path, recalcTimestamp=False, lazy=True)
        self.source = path
        self.made: tuple[bytes, dict[str, int]] | None = None

    def getGlyphID(self, glyphName):  # noqa: N802 - fontTools' name
        return self.made[1][glyphName] if self.made else super().getGlyphID(glyphName)

    def save(self, file, reorderTables=True):  # noqa: N803
        if self.made is None:
            return super().save(file, reorderTables)
        file.write(self.made[0])


class _Subsetter(ftsubset.Subsetter):
    """fontTools' Subsetter, reusing a subset of the same file and glyphs made before."""

    def populate(self, glyphs=(), **kw):
        self._glyph_names = tuple(sorted(set(glyphs)))
        super().populate(glyphs=glyphs, **kw)

    def subset(self, font):
        if not isinstance(font, _DocumentFont):
            return super().subset(font)
        key = (font.source, repr(sorted(vars(self.options).items())), self._glyph_names)
        if key not in _subsets:
            super().subset(font)
            out = BytesIO()
            font.save(out)
            if len(_subsets) >= MAX_SUBSETS:
                _subsets.clear()
            _subsets[key] = (out.getvalue(), {g: font.getGlyphID(g) for g in font.getGlyphOrder()})
        font.made = _subsets[key]


class _SubsetModule:
    """What fpdf's output sees as `fontTools.subset` while a document is written."""
    Options = ftsubset.Options
    Subsetter = _Subsetter


@contextmanager
def _reused_subsets():
    real = fpdf_output.ftsubset
    fpdf_output.ftsubset = _SubsetModule
    try:
        yield
    finally:
        fpdf_output.ftsubset = real


class Output(OutputProducer):
    """fpdf's writer, with font subsets made once per process (pass as output_producer_class)."""

    def _add_fonts(self, *args, **kw):
        with _reused_subsets():
            return super()._add_fonts(*args, **kw)


@functools.cache
def _parsed(path: str, style: str) -> TTFFont | None:
    """The font as fpdf parses it, once per process; None when it is not a plain TrueType font
    this module can share (then the document adds it the usual way)."""
    scratch = FPDF()
    scratch.add_font("F", style, path)
    font = scratch.fonts[f"f{style}"]
    plain = ttLib.TTFont(path, lazy=True)
    if font.color_font or font.is_cff or font.is_compressed or "glyf" not in plain or ".notdef" not in plain["glyf"]:
        return None                     # (no .notdef: fpdf drew a stand-in glyph into its own copy)
    return font


def add_font(pdf: FPDF, family: str, style: str, path: Path | str) -> None:
    """pdf.add_font(family, style, path), with the font file parsed once per process."""
    base = _parsed(str(path), style)
    if base is None:
        pdf.add_font(family, style, str(path))
        return
    font = copy.copy(base)
    font.__class__ = _Font
    _widths.setdefault(font.ttffile, (len(base.cw), {}))
    font.i = len(pdf.fonts) + 1
    font.fontkey = f"{family.lower()}{style}"
    font.ttfont = _DocumentFont(str(path))
    font._hbfont = None
    font.cw = copy.copy(base.cw)                # a defaultdict: a lookup may add to it
    font.desc = copy.copy(base.desc)            # the writer gives it an object number
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.subset = SubsetMap(font)
    pdf.fonts[font.fontkey] = font
