"""A PDF document set up like the trustee pack (same fonts, margins and footer)."""
from __future__ import annotations

from pathlib import Path

from pipelines.lib.report import pdf as report_pdf
from pipelines.lib.report.pdf import _PDF


def new_pdf(title: str, author: str, footer: str, core_fonts: bool = False) -> _PDF:
    """The trustee pack's document setup, in English for screen readers (draw with
    report.pdf.draw_pdf for the quick core fonts)."""
    return report_pdf.new_pdf(title, author, footer, lang="en-GB", core_fonts=core_fonts)


def save_pdf(pdf: _PDF, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pdf.output(str(tmp))
    tmp.replace(path)
    return path
