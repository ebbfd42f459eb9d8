"""A PDF document set up like the trustee pack (same fonts, margins and footer)."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from pipelines.lib.report.pdf import FONT_DIR, _PDF


def new_pdf(title: str, author: str, footer: str) -> _PDF:
    pdf = _PDF(orientation="P", unit="mm", format="A4")
    pdf.set_compression(True)
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.add_font("DejaVu", "I", str(FONT_DIR / "DejaVuSans-Oblique.ttf"))
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=16)
    pdf.set_title(title)
    pdf.set_author(author or "Trust Destinations")
    pdf.set_creator("Trust Destinations")
    pdf.set_lang("en-GB")
    pdf.set_creation_date(datetime.now(timezone.utc))
    pdf.footer_text = footer
    return pdf


def save_pdf(pdf: _PDF, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pdf.output(str(tmp))
    tmp.replace(path)
    return path
