"""Report test helpers: the pack built from the real pipeline snapshot, parsed back."""
from __future__ import annotations

import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.parquet as pq

FIXED = datetime(2025, 12, 1, 9, 0, tzinfo=timezone.utc)
REPO = Path(__file__).resolve().parents[2]


def pdf_text(path: Path) -> list[str]:
    from pypdf import PdfReader
    return [p.extract_text() or "" for p in PdfReader(str(path)).pages]


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def xlsx_sheets(path: Path) -> dict[str, list[list]]:
    from openpyxl import load_workbook
    wb = load_workbook(str(path), read_only=True)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def table_rows(sheet: list[list]) -> tuple[list[str], list[list]]:
    """Header (row 4) and data rows (until the blank row before Notes) of a pack sheet."""
    header = []
    for c in sheet[3]:
        if c is None:
            break
        header.append(c)
    rows = []
    for r in sheet[4:]:
        if r is None or all(v is None for v in r[:len(header)]):
            break
        rows.append(list(r[:len(header)]))
    return header, rows


def as_dicts(sheet: list[list]) -> list[dict]:
    header, rows = table_rows(sheet)
    return [dict(zip(header, r)) for r in rows]


class Built:
    """A copy of the real snapshot, the pack for its latest actual year, parsed."""

    def __init__(self, root: Path):
        from pipelines.lib.report import build_pack, report_years
        from tests.real_snapshot import real_snapshot
        self.data = root / "data"
        shutil.copytree(real_snapshot() / "warehouse" / "serving", self.data / "warehouse" / "serving")
        shutil.copytree(real_snapshot() / "raw", self.data / "raw")
        self.serving = self.data / "warehouse" / "serving"
        self.year = report_years(self.serving)[0]
        self.out = build_pack(self.year, root / "out", self.serving, generated_at=FIXED)
        self.pages = pdf_text(self.out["pdf"])
        self.text = norm("\n".join(self.pages))
        self.sheets = xlsx_sheets(self.out["xlsx"])

    def mart(self, name: str) -> list[dict]:
        return pq.read_table(self.serving / f"{name}.parquet").to_pylist()

    def rows(self, name: str, **eq) -> list[dict]:
        return [r for r in self.mart(name) if all(r.get(k) == v for k, v in eq.items())]
