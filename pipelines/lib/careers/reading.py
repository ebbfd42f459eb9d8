"""Read FSQ and Compass exports (CSV or XLSX bytes) into rows of text cells.

Decoding (UTF-8, BOM, cp1252), CSV delimiter sniffing and XLSX sheet reading reuse the
destination-return reader (pipelines/lib/returns/reader.py); header detection is ours,
because these exports have other columns (and FSQ wide exports one column per item).
Never raises: anything unreadable becomes a file-level Problem.
"""
from __future__ import annotations

import re

import polars as pl
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from pipelines.lib.problems import Problem
from pipelines.lib.returns import reader as returns_reader
from pipelines.lib.returns.spec import norm_header

HEADER_SCAN_ROWS = 30
SAVE_AS = "open the file in Excel and save it again as CSV UTF-8 or Excel workbook (.xlsx)"


@dataclass
class Grid:
    """The chosen table: header cells as written, body rows, and Excel row numbers."""

    header: list[str] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)
    header_row: int = 0
    file_format: str = ""
    encoding: str | None = None
    sheet: str | None = None
    problems: list[Problem] = field(default_factory=list)
    body: pl.DataFrame | None = None  # columns c0..cN (text, null when blank) + _row (Excel row)

    def column(self, j: int) -> pl.Series:
        return self.body[f"c{j}"]

    @property
    def rejected(self) -> bool:
        return any(p.severity == "file" for p in self.problems)


def _clean(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == datetime.min.time() else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v).replace("\u00a0", " ").strip()
    return s or None


def _sheets(data: bytes, name: str, grid: Grid) -> list[tuple[str | None, list[list], int]] | None:
    """[(sheet, rows, first Excel row)] or None with a file problem added."""
    lower = name.lower()
    fp = lambda rule, msg, fix: grid.problems.append(Problem("file", rule, msg, fix, file=name))  # noqa: E731
    if not data:
        fp("file_empty", "the file is empty (0 bytes)", "export the file again and re-send it")
        return None
    if data.startswith(b"PK\x03\x04") or lower.endswith((".xlsx", ".xlsm")):
        grid.file_format = "xlsx"
        if not data.startswith(b"PK\x03\x04"):
            fp("file_unreadable", "the file is named .xlsx but is not an Excel workbook", SAVE_AS)
            return None
        try:
            sheets = getattr(returns_reader, "_xlsx_sheets", _xlsx_sheets)(data)
        except Exception as exc:  # noqa: BLE001
            fp("file_unreadable", f"the file could not be opened as an Excel workbook ({type(exc).__name__})",
               SAVE_AS)
            return None
        return [(s, rows, first) for s, rows, first in sheets]
    if data.startswith(b"\xd0\xcf\x11\xe0") or data.startswith(b"%PDF") or lower.endswith(
            (".xls", ".pdf", ".doc", ".docx", ".ods", ".json", ".xml")):
        grid.file_format = lower.rsplit(".", 1)[-1] if "." in lower else "unknown"
        fp("file_format", "this is not a CSV or Excel (.xlsx) file", SAVE_AS)
        return None
    grid.file_format = "csv"
    text, encoding = returns_reader.decode_text(data)
    if text is None or "\x00" in text:
        fp("encoding", "the file's text could not be read (it is not UTF-8 or Windows-1252 text)", SAVE_AS)
        return None
    grid.encoding = encoding
    return [(None, getattr(returns_reader, "_csv_grid", _csv_grid)(text), 1)]


# Fallbacks in case the returns reader's helpers move (they are private there).
def _xlsx_sheets(data: bytes) -> list[tuple[str, list[list], int]]:
    import io

    import openpyxl
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return [(ws.title, [list(r) for r in ws.iter_rows(values_only=True)], 1) for ws in wb.worksheets
                if getattr(ws, "sheet_state", "visible") == "visible"]
    finally:
        wb.close()


def _csv_grid(text: str) -> list[list[str]]:
    import csv
    import io
    first = "\n".join(text.splitlines()[:30])
    delim = max((",", ";", "\t", "|"), key=first.count)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))


def read_grid(data: bytes, name: str, aliases: dict[str, str], required: list[str],
              is_extra_key=lambda key: False, what: str = "export") -> tuple[Grid, dict[str, int]]:
    """Find the header row (most known column names) and return the body rows.

    `aliases`: normalised header -> field name; `is_extra_key(normalised header)` says whether
    an unrecognised header still counts towards finding the header (e.g. an FSQ item id).
    Returns the grid and {field: column index}.
    """
    grid = Grid()
    try:
        sheets = _sheets(data, name, grid)
        if sheets is None:
            return grid, {}
        best = None  # (score, sheet, rows, first, header index)
        for sheet, rows, first in sheets:
            for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
                keys = [norm_header(c) for c in row if _clean(c) is not None]
                score = len({aliases[k] for k in keys if k in aliases}) + 0.5 * sum(
                    1 for k in keys if k not in aliases and is_extra_key(k))
                if score > 0 and (best is None or score > best[0]):
                    best = (score, sheet, rows, first, i)
        if best is None:
            grid.problems.append(Problem(
                "file", "no_header", f"no header row was found: none of the first rows of the {what} has "
                f"column names such as {', '.join(required)}",
                f"put the column headers ({', '.join(required)}) in one row above the data", file=name))
            return grid, {}
        _, grid.sheet, rows, first, hi = best
        grid.header_row = first + hi
        grid.header = [(_clean(c) or "") for c in rows[hi]]
        cols: dict[str, int] = {}
        for j, h in enumerate(grid.header):
            f = aliases.get(norm_header(h)) if h else None
            if f is None:
                continue
            if f in cols:
                grid.problems.append(Problem(
                    "file", "duplicate_column", f"two columns are both read as '{f}': "
                    f"'{grid.header[cols[f]]}' and '{h}'", "keep only one of these columns",
                    file=name, row=grid.header_row, column=h))
                continue
            cols[f] = j
        for f in required:
            if f not in cols:
                grid.problems.append(Problem(
                    "file", "missing_column", f"the required column '{f}' is missing",
                    f"add a column headed '{f}' (see the list of columns in the trust's guidance)",
                    file=name, row=grid.header_row, column=f))
        grid.body = _body_frame(rows[hi + 1:], len(grid.header), grid.header_row)
        grid.rows = [None] * grid.body.height  # count only; the cells are in body
        grid.row_numbers = grid.body["_row"].to_list()
        if not grid.rejected and not grid.rows:
            grid.problems.append(Problem("file", "no_rows", "the file has a header row but no data rows",
                                         "export the file again with its data rows", file=name,
                                         row=grid.header_row))
        return grid, cols
    except Exception as exc:  # noqa: BLE001 - every failure becomes feedback
        grid.problems.append(Problem("file", "file_unreadable",
                                     f"the file could not be read ({type(exc).__name__}: {str(exc)[:150]})",
                                     SAVE_AS, file=name))
        return grid, {}


def _body_frame(body: list[list], width: int, header_row: int) -> pl.DataFrame:
    """Body rows as text columns (vectorised cleaning); blank lines dropped."""
    fixed = [list(r[:width]) + [None] * (width - len(r)) if len(r) != width else r for r in body]
    cols = list(zip(*fixed)) if fixed else [()] * width
    data = {}
    for j in range(width):
        vals = list(cols[j])
        if any(v is not None and not isinstance(v, str) for v in vals):
            vals = [_clean(v) for v in vals]
        data[f"c{j}"] = pl.Series(vals, dtype=pl.Utf8)
    df = pl.DataFrame(data, schema={f"c{j}": pl.Utf8 for j in range(width)}).with_columns(
        _row=pl.int_range(header_row + 1, header_row + 1 + len(fixed), dtype=pl.Int64))
    if width:
        df = df.with_columns([
            pl.col(f"c{j}").str.replace_all("\u00a0", " ").str.strip_chars() for j in range(width)])
        df = df.with_columns([pl.when(pl.col(f"c{j}") == "").then(None).otherwise(pl.col(f"c{j}")).alias(f"c{j}")
                              for j in range(width)])
        df = df.filter(pl.any_horizontal([pl.col(f"c{j}").is_not_null() for j in range(width)]))
    return df


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y", "%Y/%m/%d", "%d %b %Y",
                 "%d %B %Y")


def parse_date(v: str | None) -> date | None:
    if v is None:
        return None
    s = str(v).strip()
    s = s[:10] if re.match(r"^\d{4}-\d{2}-\d{2}[T ]", s) else s
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    if re.fullmatch(r"\d{5}(\.0+)?", s):  # Excel serial number
        return date(1899, 12, 30) + timedelta(days=int(float(s)))
    return None


def parse_int(v: str | None, pattern: str = r"^(?:year|yr|y|bm|benchmark|gatsby benchmark)?\s*(\d{1,2})(?:\.0+)?\b"
              ) -> int | None:
    """'11', 'Year 11', 'Y11', 'BM6', 'Benchmark 6', '6 - Experiences of workplaces' -> int."""
    if v is None:
        return None
    m = re.match(pattern, str(v).strip().lower())
    return int(m.group(1)) if m else None


def academic_year_of(d: date) -> str:
    start = d.year if d.month >= 9 else d.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def term_of(d: date) -> str:
    """autumn (Sep-Dec), spring (Jan-Apr), summer (May-Aug)."""
    return "autumn" if d.month >= 9 else ("spring" if d.month <= 4 else "summer")


def safe_value(v) -> str | None:
    """A cell value fit to show in feedback: short, and never starting a formula."""
    if v is None:
        return None
    s = str(v)[:60]
    return "'" + s if s[:1] in ("=", "+", "-", "@") else s


def map_unique(expr: pl.Expr, fn, dtype) -> pl.Expr:
    """Apply a Python function once per distinct non-null value (fast on long exports)."""
    def f(s: pl.Series) -> pl.Series:
        mapping = {v: fn(v) for v in s.unique().to_list() if v is not None}
        if not mapping:
            return pl.Series(s.name, [None] * len(s), dtype=dtype)
        return s.replace_strict(mapping, default=None, return_dtype=dtype)
    return expr.map_batches(f, return_dtype=dtype)
