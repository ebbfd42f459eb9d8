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
            try:
                sheets = _xlsx_frames(data)  # fast (calamine); our own, not the returns reader's
            except Exception:  # noqa: BLE001 - openpyxl decides (slower, same cells)
                sheets = _xlsx_sheets(data)
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
    return [(None, _CsvText(text, _sniff(text)), 1)]


class _CsvText:
    """A CSV text: the first records through the csv module (header search), the body through
    polars (fast); both split records the same way (quotes, blank lines, ragged rows)."""

    def __init__(self, text: str, delim: str):
        self.text, self.delim = text, delim

    def head(self, n: int) -> list[list[str]]:
        import csv
        import io
        from itertools import islice
        csv.field_size_limit(10 * 1024 * 1024)
        return list(islice(csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delim, strict=False), n))

    def body(self, start: int, width: int) -> pl.DataFrame:
        """Records from index `start`, as text columns c0..c{width-1} (padded / truncated)."""
        import io
        schema = {f"c{j}": pl.Utf8 for j in range(width)}
        try:
            df = pl.read_csv(io.BytesIO(self.text.encode("utf-8")), has_header=False, schema=schema,
                             separator=self.delim, quote_char='"', truncate_ragged_lines=True,
                             infer_schema=False, raise_if_empty=False)
            head = self.head(start + 1)
            if '"' in self.text:  # quoted fields: the record count must agree too
                import csv
                count = sum(1 for _ in csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delim,
                                                  strict=False))
                if count != df.height:
                    raise ValueError("record split differs")
            same = df.height >= start and all(
                [c or None for c in (r + [None] * width)[:width]] == [c or None for c in df.row(i)]
                for i, r in enumerate(head[:start + 1]) if i < df.height)
            if same:
                return df.slice(start)
        except Exception:  # noqa: BLE001 - the csv module decides
            pass
        rows = _csv_grid(self.text, self.delim)[start:]
        fixed = [list(r[:width]) + [None] * (width - len(r)) if len(r) != width else r for r in rows]
        cols = list(zip(*fixed)) if fixed else [()] * width
        return pl.DataFrame({f"c{j}": pl.Series(list(cols[j]), dtype=pl.Utf8) for j in range(width)},
                            schema=schema)


def _sniff(text: str) -> str:
    prefix = text[:100_000]
    lines = prefix.splitlines()
    first = "\n".join((lines if len(lines) > 30 else text.splitlines())[:30])
    return max((",", ";", "\t", "|"), key=first.count)


_SHEET_RE = re.compile(r"<(?:\w+:)?sheet\b([^>]*)/?>")
_ATTR_RE = re.compile(r'([\w:]+)="([^"]*)"')
_REL_RE = re.compile(r"<(?:\w+:)?Relationship\b([^>]*)/?>")
_CELL_RE = re.compile(r'<(?:\w+:)?c\b[^>]*?\br="[A-Z]+(\d+)"[^>]*?(?<!/)>\s*'
                      r'(?:<(?:\w+:)?f\b[^>]*(?:/>|>[^<]*</(?:\w+:)?f>)\s*)?<(?:\w+:)?(?:v|is)\b')


def _xlsx_first_rows(data: bytes) -> dict[str, int]:
    """sheet name -> Excel row number of its first cell with a value (calamine starts a sheet there)."""
    import html
    import io
    import zipfile

    out: dict[str, int] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        wb = z.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = {}
        for m in _REL_RE.finditer(z.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")):
            a = dict(_ATTR_RE.findall(m.group(1)))
            if "Id" in a and "Target" in a:
                t = a["Target"].lstrip("/")
                rels[a["Id"]] = t if t.startswith("xl/") else "xl/" + t
        for m in _SHEET_RE.finditer(wb):
            a = dict(_ATTR_RE.findall(m.group(1)))
            rid = next((v for k, v in a.items() if k.endswith(":id") or k == "id"), None)
            with z.open(rels[rid]) as fh:
                hit = _CELL_RE.search(fh.read(4 * 1024 * 1024).decode("utf-8", "replace"))
            out[html.unescape(a.get("name", ""))] = int(hit.group(1)) if hit else 1
    return out


def _xlsx_frames(data: bytes) -> list[tuple[str, list[list], int]]:
    """[(sheet, rows of text cells, Excel row number of the first row)] for visible sheets, via
    fastexcel. Cells come as openpyxl + `_clean` gave them: dates 'YYYY-MM-DD' (with 'THH:MM:SS'
    when there is a time), whole numbers without '.0'. The rows are a polars frame (`_Frame`)."""
    import fastexcel

    first = _xlsx_first_rows(data)
    reader = fastexcel.read_excel(data)
    out = []
    for name in reader.sheet_names:
        sheet = reader.load_sheet(name, header_row=None, dtypes="string")
        if sheet.visible != "visible":
            continue
        frame = sheet.to_polars()
        if frame.width == 0:
            continue
        frame = frame.rename({c: f"c{j}" for j, c in enumerate(frame.columns)}).with_columns(
            pl.all().str.replace(r"^(\d{4}-\d{2}-\d{2}) 00:00:00$", "$1")
            .str.replace(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$", "${1}T$2"))
        out.append((name, _Frame(frame), first[name]))
    return out


class _Frame:
    """Sheet cells as a polars frame of text columns c0..cN."""

    def __init__(self, frame: pl.DataFrame):
        self.frame = frame

    def head(self, n: int) -> list[list]:
        return [list(r) for r in self.frame.head(n).iter_rows()]

    def body(self, start: int, width: int) -> pl.DataFrame:
        f = self.frame.slice(start)
        cols = [pl.col(f"c{j}") if j < f.width else pl.lit(None, pl.Utf8).alias(f"c{j}") for j in range(width)]
        return f.select(cols)


def _xlsx_sheets(data: bytes) -> list[tuple[str, list[list], int]]:
    import io

    import openpyxl
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return [(ws.title, [list(r) for r in ws.iter_rows(values_only=True)], 1) for ws in wb.worksheets
                if getattr(ws, "sheet_state", "visible") == "visible"]
    finally:
        wb.close()


def _csv_grid(text: str, delim: str | None = None) -> list[list[str]]:
    import csv
    import io
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delim or _sniff(text)))


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
            head = rows.head(HEADER_SCAN_ROWS) if isinstance(rows, (_CsvText, _Frame)) else rows[:HEADER_SCAN_ROWS]
            for i, row in enumerate(head):
                keys = [norm_header(c) for c in row if _clean(c) is not None]
                score = len({aliases[k] for k in keys if k in aliases}) + 0.5 * sum(
                    1 for k in keys if k not in aliases and is_extra_key(k))
                if score > 0 and (best is None or score > best[0]):
                    best = (score, sheet, rows, first, i, row)
        if best is None:
            grid.problems.append(Problem(
                "file", "no_header", f"no header row was found: none of the first rows of the {what} has "
                f"column names such as {', '.join(required)}",
                f"put the column headers ({', '.join(required)}) in one row above the data", file=name))
            return grid, {}
        _, grid.sheet, rows, first, hi, header_cells = best
        grid.header_row = first + hi
        grid.header = [(_clean(c) or "") for c in header_cells]
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
        if isinstance(rows, (_CsvText, _Frame)):
            grid.body = _clean_body(rows.body(hi + 1, len(grid.header)), grid.header_row)
        else:
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
    return _clean_body(pl.DataFrame(data, schema={f"c{j}": pl.Utf8 for j in range(width)}), header_row)


def _clean_body(df: pl.DataFrame, header_row: int) -> pl.DataFrame:
    """Text columns c0..cN: NBSP -> space, trimmed, '' -> null; _row = Excel row; blank rows dropped."""
    width = df.width
    row = pl.int_range(header_row + 1, header_row + 1 + df.height, dtype=pl.Int64).alias("_row")
    if not width:
        return df.with_columns(row)
    cols = [f"c{j}" for j in range(width)]
    lazy = df.lazy().with_columns(
        *[pl.col(c).str.replace_all("\u00a0", " ", literal=True).str.strip_chars().replace("", None) for c in cols],
        row)
    return lazy.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in cols])).collect()


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
