"""Render the pack to PDF (fpdf2). DejaVu fonts from matplotlib's own data, so any machine has them."""
from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.enums import CharVPos, TextMode
from PIL import Image

from pipelines.lib.report import pdffonts
from pipelines.lib.report.model import Pack, Section, Table

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
NAVY = (31, 60, 110)
# shorter labels for narrow PDF columns (the XLSX keeps the full names)
SHORT = {"Disadvantage and sex": "Disadv. x sex", "Ethnicity major": "Ethnicity",
         "Not disadvantaged Female": "Not disadv. Female", "Not disadvantaged Male": "Not disadv. Male",
         "Disadvantaged Female": "Disadv. Female", "Disadvantaged Male": "Disadv. Male"}
ZEBRA = (243, 246, 250)


class _PDF(FPDF):
    footer_text = ""

    def footer(self):
        self.set_y(-12)
        self.set_font("DejaVu", size=7)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, f"{self.footer_text}   |   page {self.page_no()} of {{nb}}", align="C")
        self.set_text_color(0, 0, 0)

    def output(self, name="", *, linearize=False, output_producer_class=pdffonts.Output):
        """fpdf's output, with the font subsets made once per process (pdffonts)."""
        return super().output(name, linearize=linearize, output_producer_class=output_producer_class)


def _heading(pdf: FPDF, text: str, size: float = 14) -> None:
    pdf.set_font("DejaVu", "B", size)
    pdf.set_text_color(*NAVY)
    pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(2)


def _para(pdf: FPDF, text: str, size: float = 9.5, style: str = "") -> None:
    pdf.set_font("DejaVu", style, size)
    pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.ln(1.5)


def _fit(pdf: FPDF, text: str, width: float, fast: bool = False) -> str:
    """Shorten text with an ellipsis so it fits one line of the cell (fast: _fast_cells(pdf))."""
    if _width(pdf, text, fast) <= width:
        return text
    while text and _width(pdf, text + "...", fast) > width:
        text = text[:-1]
    return text + "..."


def _width(pdf: FPDF, text: str, fast: bool) -> float:
    """pdf.get_string_width(text), the same float; when `fast` (_fast_cells) without building fpdf's
    text fragments."""
    if not fast or pdf.str_alias_nb_pages in text:
        return pdf.get_string_width(text)
    return pdf.current_font.get_text_width(text, pdf.font_size_pt, None)[1] / pdf.k


def _fast_cells(pdf: FPDF) -> bool:
    """True when pdf.cell would draw plain text in the current font (a TTF font, no text shaping,
    fallback fonts, spacing, stretching, underline, text mode or quad points): what _cell assumes."""
    return (pdf.is_ttf_font and not pdf.text_shaping and not pdf._fallback_font_ids
            and pdf.current_font_is_set_on_page and not pdf._record_text_quad_points
            and pdf.char_spacing == 0 and pdf.font_stretching == 100 and not pdf.underline
            and not pdf.strikethrough and pdf.text_mode == TextMode.FILL and pdf.char_vpos == CharVPos.LINE)


def _cell(pdf: FPDF, w: float, h: float, text: str, right: bool, fill: bool, fast: bool) -> None:
    """pdf.cell(w, h, text, align="R" if right else "L", fill=fill): the same bytes on the page and
    the same position after it, without fpdf's per-call machinery (fragments, graphics-state copies,
    markdown and bidi checks), which was most of a large table's drawing time. `fast`: _fast_cells(pdf),
    asked once per row. Falls back to pdf.cell whenever its assumptions (`fast`, no page break, no
    page-count alias) do not hold; tests/report/test_pdf_cells.py holds the bytes equal to pdf.cell's."""
    if not fast or pdf.will_page_break(h) or pdf.str_alias_nb_pages in text:
        pdf.cell(w, h, text, align="R" if right else "L", fill=fill)
        return
    k, x, y = pdf.k, pdf.x, pdf.y
    ops = []
    if fill:
        left, right_edge = x * k, (x + w) * k
        top, bottom = (pdf.h - y) * k, (pdf.h - (y + h)) * k
        ops.append(f"{left:.2f} {top:.2f} {right_edge - left:.2f} {bottom - top:.2f} re f")
    recolour = False
    if text:
        font = pdf.current_font
        text_width = font.get_text_width(text, pdf.font_size_pt, None)[1] / k
        dx = w - pdf.c_margin - text_width if right else pdf.c_margin
        ops.append(f"BT {(x + dx) * k:.2f} {(pdf.h - y - 0.5 * h - 0.3 * pdf.font_size) * k:.2f} Td")
        if pdf.text_color != pdf.fill_color:
            ops.append(pdf.text_color.serialize().lower())
            recolour = True
        pick = font.subset.pick
        mapped = "".join(chr(c) for c in map(pick, map(ord, text)) if c)
        ops.append(f"({font.escape_text(mapped)}) Tj")
        ops.append("ET")
    if ops:
        pdf._out(f"q {' '.join(ops)} Q" if recolour else " ".join(ops))
    pdf._lasth = h or pdf.font_size
    pdf.x = x + w


def _lines(pdf: FPDF, text: str, width: float, h: float) -> int:
    """Lines multi_cell(width) takes for text: one when it plainly fits (no dry run, which costs
    as much as drawing), else multi_cell's own count, remembered within the document for the same
    text, width and font (the same notes sit under many tables). Per document, so a document's
    bytes never depend on what was drawn before it."""
    if "\n" not in text and pdf.get_string_width(text) < width - 2 * pdf.c_margin - 0.01:
        return 1
    seen = pdf.__dict__.setdefault("_line_counts", {})
    key = (text, round(width, 6), h, pdf.c_margin, pdf.font_family, pdf.font_style, pdf.font_size_pt)
    if key not in seen:
        seen[key] = len(pdf.multi_cell(width, h, text, dry_run=True, output="LINES"))
    return seen[key]


def _header(pdf: FPDF, t: Table, widths: list[float], size: float) -> None:
    pdf.set_font("DejaVu", "B", size)
    lines = [_lines(pdf, c.label, w - 1.6, size * 0.45) for c, w in zip(t.columns, widths)]
    h = max(lines) * size * 0.45 + 1.6
    x0, y0 = pdf.get_x(), pdf.get_y()
    pdf.set_fill_color(*NAVY)
    pdf.rect(x0, y0, sum(widths), h, style="F")
    pdf.set_text_color(255, 255, 255)
    x = x0
    for c, w, n in zip(t.columns, widths, lines):
        pdf.set_xy(x + 0.8, y0 + 0.8)
        if n == 1 and _fast_cells(pdf):    # a label on one line: what multi_cell draws for it, bytes and all
            _cell(pdf, w - 1.6, size * 0.45, c.label, c.kind != "text", False, True)
        else:
            pdf.multi_cell(w - 1.6, size * 0.45, c.label, align="L" if c.kind == "text" else "R")
        x += w
    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(x0, y0 + h)


def render_table(pdf: FPDF, t: Table, font_size: float = 6.8) -> None:
    """One line per row; the header repeats on each new page; notes are never split from each other."""
    notes_h = _notes_height(pdf, t.notes)
    whole = 18 + len(t.rows) * font_size * 0.55 + notes_h
    if pdf.will_page_break(32) or (whole < pdf.eph * 0.9 and pdf.will_page_break(whole)):
        pdf.add_page()  # start a table that fits on one page on a fresh page, not split
    pdf.set_font("DejaVu", "B", 9.5)
    pdf.multi_cell(0, 5, t.title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    if not t.rows:
        _para(pdf, "No rows for this year.", 8, "I")
        return
    total = sum(c.width for c in t.columns)
    widths = [pdf.epw * c.width / total for c in t.columns]
    line = font_size * 0.55
    _header(pdf, t, widths, font_size - 0.7)
    pdf.set_font("DejaVu", size=font_size)
    prev = object()
    for k, r in enumerate(t.rows):
        if pdf.will_page_break(line):
            pdf.add_page()
            _header(pdf, t, widths, font_size - 0.7)
            pdf.set_font("DejaVu", size=font_size)
            prev = object()
        new_group = t.group_column is not None and r[t.group_column] != prev
        if new_group and k:
            pdf.set_draw_color(160, 170, 185)
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
        fill = k % 2 == 1
        pdf.set_fill_color(*ZEBRA)
        fast = _fast_cells(pdf)
        for i, (v, c, w) in enumerate(zip(r, t.columns, widths)):
            text = t.display(v, c, k)
            if c.kind == "text":
                text = SHORT.get(text, text)
            if t.group_column is not None and i == t.group_column and not new_group:
                text = ""
            _cell(pdf, w, line, _fit(pdf, text, w - 1.2, fast), c.kind != "text", fill, fast)
        pdf.ln(line)
        if t.group_column is not None:
            prev = r[t.group_column]
    pdf.set_draw_color(*NAVY)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
    pdf.set_draw_color(0, 0, 0)
    pdf.ln(1.5)
    if pdf.will_page_break(notes_h) and notes_h < pdf.eph * 0.5:
        pdf.add_page()
    for n in t.notes:
        _para(pdf, n, 6.8)
    pdf.ln(2)


def _notes_height(pdf: FPDF, notes: list[str], size: float = 6.8) -> float:
    pdf.set_font("DejaVu", size=size)
    width = pdf.w - pdf.r_margin - pdf.x         # what multi_cell(0, ...) spans from here
    return sum(_lines(pdf, n, width, size * 0.5) * size * 0.5 + 1.5 for n in notes)


def render_section(pdf: FPDF, s: Section) -> None:
    first = 0.0  # keep the heading with the section's first chart (or at least a table's start)
    if s.charts and not s.unavailable:
        with Image.open(s.charts[0].path) as im:
            first = pdf.epw * 0.8 * im.size[1] / im.size[0] + 8
    if s.new_page or pdf.will_page_break(max(60.0, 30 + 6 * len(s.paragraphs) + first)):
        pdf.add_page()
    else:
        pdf.ln(4)
    _heading(pdf, s.title)
    for p in s.paragraphs:
        if s.id == "methods" and ". " in p:  # bold lead-in
            lead, rest = p.split(". ", 1)
            pdf.set_font("DejaVu", "B", 9.5)
            pdf.write(4.75, lead + ". ")
            pdf.set_font("DejaVu", "", 9.5)
            pdf.write(4.75, rest)
            pdf.ln(6.2)
        else:
            _para(pdf, p)
    if s.unavailable:
        _para(pdf, s.unavailable, 10, "I")
        return
    for ch in s.charts:
        with Image.open(ch.path) as im:
            height = pdf.epw * 0.8 * im.size[1] / im.size[0]
        if pdf.will_page_break(height + 8):
            pdf.add_page()
        pdf.image(ch.path, w=pdf.epw * 0.8, x=pdf.l_margin + pdf.epw * 0.1)
        _para(pdf, ch.caption, 7.5, "I")
    for t in s.tables:
        render_table(pdf, t)


FONTS = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}
# The characters of the core fonts: Latin (with the extended and accented letters of names),
# combining accents, Greek, punctuation, currency, letter-like symbols, arrows, maths and shapes.
CORE_BLOCKS = ((0x20, 0x7E), (0xA0, 0x3FF), (0x1E00, 0x1EFF), (0x2000, 0x206F), (0x20A0, 0x20CF),
               (0x2100, 0x22FF), (0x25A0, 0x25FF), (0xFB00, 0xFB06))


@functools.cache
def core_font(file_name: str) -> Path:
    """DejaVu cut down to CORE_BLOCKS (about 1,300 of its 6,000 glyphs, same outlines and widths):
    loading and embedding it costs a fifth of the full font's, which is most of a short document's
    time. Made once per installed font and kept in the user's cache folder (not the shared temp
    folder, where another account could plant a file); the full font if it cannot be."""
    import hashlib
    import os

    src = FONT_DIR / file_name
    try:
        key = hashlib.sha256(src.read_bytes()).hexdigest()[:16]
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        out = cache / "trust-destinations" / "fonts" / f"{src.stem}-core-{key}.ttf"
        if out.is_file():
            return out
        from fontTools import subset as ftsubset
        from fontTools import ttLib
        font = ttLib.TTFont(src, recalcTimestamp=False)
        opts = ftsubset.Options(notdef_outline=True, recommended_glyphs=True, glyph_names=True, name_IDs=["*"],
                                name_languages=["*"], layout_features=["*"], hinting=True, legacy_kern=True,
                                drop_tables=["FFTM"])
        sub = ftsubset.Subsetter(opts)
        sub.populate(unicodes=[c for a, b in CORE_BLOCKS for c in range(a, b + 1)])
        sub.subset(font)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        font.save(str(tmp))
        os.replace(tmp, out)
        return out
    except Exception:  # noqa: BLE001 - no writable temp folder or fontTools trouble: the full font
        return src


def new_pdf(title: str, author: str, footer: str, creation_date: datetime | None = None,
            lang: str | None = None, core_fonts: bool = False) -> _PDF:
    """An A4 document set up as every pack is (fonts, margins, metadata, footer). With core_fonts
    the cut-down DejaVu (see draw_pdf)."""
    pdf = _PDF(orientation="P", unit="mm", format="A4")
    pdf.set_compression(True)
    for style, name in FONTS.items():
        pdffonts.add_font(pdf, "DejaVu", style, core_font(name) if core_fonts else FONT_DIR / name)
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=16)
    pdf.set_title(title)
    pdf.set_author(author or "Trust Destinations")
    pdf.set_creator("Trust Destinations")
    if lang:
        pdf.set_lang(lang)
    pdf.set_creation_date((creation_date or datetime.now(timezone.utc)).astimezone(timezone.utc))
    pdf.footer_text = footer
    return pdf


def draw_pdf(draw: Callable[[bool], FPDF]) -> FPDF:
    """A document drawn by `draw(core_fonts)`: with the core fonts, and again with the full fonts
    only when its text has a character the core fonts lack (same text and layout either way)."""
    pdf = draw(True)
    if any(getattr(f, "missing_glyphs", None) for f in pdf.fonts.values()):
        pdf = draw(False)
    return pdf


def render_pdf(pack: Pack, path: Path, creation_date: datetime) -> Path:
    pdf = draw_pdf(lambda core: _draw_pack(pack, creation_date, core))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pdf.output(str(tmp))
    tmp.replace(path)
    return path


def _draw_pack(pack: Pack, creation_date: datetime, core_fonts: bool) -> _PDF:
    pdf = new_pdf(f"{pack.trust_name}: leavers' destinations {pack.year}, annual report to trustees",
                  pack.trust_name,
                  f"{pack.trust_name} - leavers' destinations {pack.year} - OFFICIAL: published figures only",
                  creation_date, core_fonts=core_fonts)
    # page 1: the summary
    pdf.add_page()
    _heading(pdf, f"{pack.trust_name}", 18)
    _heading(pdf, f"Leavers' destinations {pack.year}: annual report to trustees", 13)
    _para(pdf, f"Generated {pack.generated_at}. Actual destinations ({pack.round}) of pupils who left Year 11 or "
               f"16-18 study in {pack.year}, recorded by academies in the autumn after leaving.", 8.5, "I")
    pdf.ln(2)
    _heading(pdf, "Headline findings", 13)
    for i, f in enumerate(pack.findings, start=1):
        pdf.set_font("DejaVu", "B", 10.5)
        pdf.cell(8, 6, f"{i}.")
        pdf.set_font("DejaVu", "", 10.5)
        pdf.multi_cell(0, 6, f.text, new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.ln(2)
    if not pack.findings:
        _para(pdf, "No headline figure can be published for this year (groups too small).", 10, "I")
    if pack.key_table and pack.key_table.rows:
        pdf.ln(1)
        render_table(pdf, pack.key_table, font_size=7.5)
    _heading(pdf, "How to read this report", 11)
    _para(pdf, "EET means education, employment or training (an apprenticeship counts). The trust's figures are a "
               "snapshot of what each leaver was doing in the autumn after leaving; the national figures are "
               "DfE's 'sustained' destinations (two terms, published about two years later) and NCCIS NEET "
               "figures, so comparisons are indicative. Small groups are withheld and shown as c so that no "
               "pupil can be identified. Each table in this report is also in the accompanying spreadsheet.", 8.5)
    _para(pdf, "Contents: " + "; ".join(s.title for s in pack.sections) + ".", 8.5)
    for s in pack.sections:
        render_section(pdf, s)
    return pdf
