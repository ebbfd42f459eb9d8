"""Searching for pupils' names (the optional `pupil_name` return column) in what a person can
see or download: page HTML, CSV/XLSX/PDF/HTML files, served Parquet files."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import duckdb


def returned_names(data: Path) -> dict[str, set[str]]:
    """Every name any academy returned (any round, any year), by academy URN."""
    con = duckdb.connect(str(data / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute("select distinct academy_urn, pupil_name from raw.destination_returns "
                           "where pupil_name is not null").fetchall()
    finally:
        con.close()
    out: dict[str, set[str]] = {}
    for urn, name in rows:
        out.setdefault(urn, set()).add(name)
    return out


def text_of(name: str, data: bytes) -> str:
    """The readable text of a downloaded file (PDF text, every XML part of an XLSX, or the bytes)."""
    low = name.lower()
    if low.endswith(".pdf"):
        from pypdf import PdfReader
        text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)
    elif low.endswith(".xlsx"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            text = "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
    elif low.endswith(".png"):
        return ""
    else:
        text = data.decode("utf-8-sig", "replace")
    return re.sub(r"\s+", " ", text)


def found(names: set[str], text: str) -> set[str]:
    return {n for n in names if n in text}
