"""Read a submitted return (CSV or XLSX bytes) into a table of text cells.

`read_return` never raises: anything it cannot read becomes a file-level
`Problem` explaining what is wrong and how to fix it. Row numbers are the rows
the academy sees in Excel (title rows above the header included, the header
counted as its own row).
"""
from __future__ import annotations

import csv
import html
import io
import re
import zipfile
from dataclasses import dataclass, field

import polars as pl

from pipelines.lib.problems import Problem
from pipelines.lib.returns import spec

ROW_COL = "__row"          # Excel row number of each pupil row
HEADER_SCAN_ROWS = 30      # how far down a title block may push the header
MAX_BYTES = 200 * 1024 * 1024


@dataclass
class ReadResult:
    """Text cells of the return, columns renamed to the canonical names."""

    table: pl.DataFrame | None               # canonical columns (Utf8) + ROW_COL (Int64); None if rejected
    headers: dict[str, str] = field(default_factory=dict)   # canonical name -> header as written
    problems: list[Problem] = field(default_factory=list)
    file_format: str = ""                    # csv | xlsx
    encoding: str | None = None
    sheet: str | None = None
    header_row: int | None = None

    @property
    def rejected(self) -> bool:
        return any(p.severity == "file" for p in self.problems)


def _file_problem(rule: str, message: str, fix: str, file: str, **kw) -> Problem:
    return Problem("file", rule, message, fix, file=file, **kw)


# ------------------------------------------------------------------ decoding

def decode_text(data: bytes) -> tuple[str | None, str | None]:
    """(text, encoding) for UTF-8 (with or without BOM), UTF-16 with BOM, or cp1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            return None, None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            return None, None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return None, None


def _sniff_delimiter(text: str) -> str:
    lines = [ln for ln in text.splitlines()[:HEADER_SCAN_ROWS + 5] if ln.strip()]
    best, best_score = ",", 0
    for d in (",", ";", "\t", "|"):
        score = sum(ln.count(d) for ln in lines)
        if score > best_score:
            best, best_score = d, score
    return best


def _csv_grid(text: str) -> list[list[str]]:
    delim = _sniff_delimiter(text)
    csv.field_size_limit(10 * 1024 * 1024)
    return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=False)]


# ------------------------------------------------------------------ xlsx

_SHEET_RE = re.compile(r"<(?:\w+:)?sheet\b([^>]*)/?>")
_ATTR_RE = re.compile(r'([\w:]+)="([^"]*)"')
_REL_RE = re.compile(r"<(?:\w+:)?Relationship\b([^>]*)/?>")
_CELL_RE = re.compile(r'<(?:\w+:)?c\b[^>]*?\br="[A-Z]+(\d+)"[^>]*?(?<!/)>\s*'
                      r'(?:<(?:\w+:)?f\b[^>]*(?:/>|>[^<]*</(?:\w+:)?f>)\s*)?<(?:\w+:)?(?:v|is)\b')


def _xlsx_layout(data: bytes) -> dict[str, tuple[bool, int]]:
    """sheet name -> (visible, Excel row number of the first cell with a value), read from the XML.

    fastexcel (calamine) starts a sheet at its first non-empty row; this gives the row numbers
    the academy sees without loading the workbook a second time (openpyxl is slow on big files).
    """
    out: dict[str, tuple[bool, int]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        wb = z.read("xl/workbook.xml").decode("utf-8", "replace")
        rels_text = z.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
        rels = {}
        for m in _REL_RE.finditer(rels_text):
            a = dict(_ATTR_RE.findall(m.group(1)))
            if "Id" in a and "Target" in a:
                t = a["Target"].lstrip("/")
                rels[a["Id"]] = t if t.startswith("xl/") else "xl/" + t
        names = set(z.namelist())
        for m in _SHEET_RE.finditer(wb):
            a = dict(_ATTR_RE.findall(m.group(1)))
            name = html.unescape(a.get("name", ""))
            rid = next((v for k, v in a.items() if k.endswith(":id") or k == "id"), None)
            visible = a.get("state", "visible") == "visible"
            first = 1
            target = rels.get(rid or "")
            if target in names:
                with z.open(target) as fh:
                    chunk = fh.read(4 * 1024 * 1024).decode("utf-8", "replace")
                hit = _CELL_RE.search(chunk)
                if hit:
                    first = int(hit.group(1))
            out[name] = (visible, first)
    return out


def _xlsx_sheets(data: bytes) -> list[tuple[str, pl.DataFrame, int]]:
    """[(sheet name, text cells, Excel row number of the first row)] for visible sheets with data."""
    import fastexcel

    reader = fastexcel.read_excel(data)
    try:
        layout = _xlsx_layout(data)
    except (KeyError, zipfile.BadZipFile, ValueError):
        layout = {}
    out = []
    for name in reader.sheet_names:
        visible, first = layout.get(name, (True, 1))
        if not visible:
            continue
        frame = reader.load_sheet(name, header_row=None, dtypes="string").to_polars()
        if frame.height == 0 or frame.width == 0:
            continue
        out.append((name, frame, first))
    return out


# ------------------------------------------------------------------ header detection

def _header_score(row: list, aliases: dict[str, str]) -> int:
    return len({aliases[k] for k in (spec.norm_header(c) for c in row if c not in (None, "")) if k in aliases})


def _find_header(rows: list[list], aliases: dict[str, str]) -> tuple[int | None, int]:
    """(index of the header row in rows, score). Best score in the first rows; first wins on ties."""
    best_i, best = None, 0
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        s = _header_score(row, aliases)
        if s > best:
            best_i, best = i, s
    return best_i, best


def _clean(v) -> str | None:
    if v is None:
        return None
    s = str(v).replace("\u00a0", " ").strip()
    return s or None


def _clean_series(s: pl.Series) -> pl.Series:
    """Cells as text: non-breaking spaces to spaces, trimmed, empty -> null."""
    s = s.str.replace_all("\u00a0", " ", literal=True).str.strip_chars()
    name = s.name
    return s.to_frame().select(
        pl.when(pl.col(name) == "").then(None).otherwise(pl.col(name)).alias(name)).to_series()


def _build_table(rows: list[list], first_row_number: int, file: str, aliases: dict[str, str],
                 result: ReadResult) -> None:
    is_frame = isinstance(rows, pl.DataFrame)
    head = rows.head(HEADER_SCAN_ROWS).rows() if is_frame else rows
    hi, score = _find_header(head, aliases)
    if hi is None:
        result.problems.append(_file_problem(
            "no_header",
            "no header row was found: none of the first rows has column names such as "
            "upn, year_group, sex, disadvantaged, sen_provision or destination_code",
            "put the column headers in one row above the pupil rows (download the template with "
            "`destinations template` to see them)", file))
        return
    header = list(head[hi])
    header_row = first_row_number + hi
    result.header_row = header_row
    col_index: dict[str, int] = {}
    for j, h in enumerate(header):
        h_clean = _clean(h)
        if h_clean is None:
            continue
        canon = aliases.get(spec.norm_header(h_clean))
        if canon is None:
            result.problems.append(Problem(
                "warning", "unknown_column",
                "this column is not part of the destination return and was ignored",
                "remove the column, or ask the trust data team to add its name to "
                "config/header_aliases.yaml if it is one of the return's columns under another name",
                file=file, row=header_row, column=h_clean))
            continue
        if canon in col_index:
            result.problems.append(_file_problem(
                "duplicate_column",
                f"two columns are both read as '{canon}': '{result.headers[canon]}' and '{h_clean}'",
                "keep only one of these columns and delete the other", file,
                row=header_row, column=h_clean))
            continue
        col_index[canon] = j
        result.headers[canon] = h_clean
    for name in spec.REQUIRED:
        if name not in col_index:
            result.problems.append(_file_problem(
                "missing_column",
                f"the required column '{name}' is missing ({spec.COLUMN_BY_NAME[name].description})",
                f"add a column headed '{name}' with a value for every pupil", file,
                row=header_row, column=name))
    if result.rejected:
        return
    n_body = (rows.height if is_frame else len(rows)) - hi - 1
    if n_body <= 0:
        result.problems.append(_file_problem(
            "no_rows", "the file has a header row but no pupil rows",
            "add one row per pupil below the header row", file, row=header_row))
        return
    data: dict[str, pl.Series] = {}
    if is_frame:
        for c, j in col_index.items():
            col = rows.to_series(j).slice(hi + 1) if j < rows.width else pl.Series([None] * n_body)
            data[c] = _clean_series(col.cast(pl.Utf8).rename(c))
    else:
        body = rows[hi + 1:]
        width = max(col_index.values()) + 1
        pad = [None] * width
        padded = [r if len(r) >= width else (list(r) + pad)[:width] for r in body]
        columns = list(zip(*padded))  # transpose in C
        for c, j in col_index.items():
            data[c] = _clean_series(pl.Series(c, columns[j], dtype=pl.Utf8, strict=False))
    data[ROW_COL] = pl.Series(ROW_COL, range(header_row + 1, header_row + 1 + n_body), dtype=pl.Int64)
    frame = pl.DataFrame(data)
    frame = frame.filter(~pl.all_horizontal([pl.col(c).is_null() for c in col_index]))  # blank lines
    if frame.height == 0:
        result.problems.append(_file_problem(
            "no_rows", "the file has a header row but no pupil rows",
            "add one row per pupil below the header row", file, row=header_row))
        return
    result.table = frame


# ------------------------------------------------------------------ entry point

def read_return(data: bytes, name: str = "", aliases: dict[str, str] | None = None) -> ReadResult:
    """Read the bytes of a submitted file. Never raises; problems explain any failure."""
    result = ReadResult(table=None)
    try:
        aliases = aliases if aliases is not None else spec.load_aliases()
        _read(data, name, aliases, result)
    except Exception as exc:  # noqa: BLE001 - every failure becomes feedback, never a crash
        result.table = None
        result.problems.append(_file_problem(
            "file_unreadable", f"the file could not be read ({type(exc).__name__}: {str(exc)[:200]})",
            "open the file in Excel, check it shows the pupil table, and save it again as "
            "CSV UTF-8 or Excel workbook (.xlsx)", name))
    return result


def _read(data: bytes, name: str, aliases: dict[str, str], result: ReadResult) -> None:
    lower = name.lower()
    if not data:
        result.problems.append(_file_problem(
            "file_empty", "the file is empty (0 bytes)",
            "export the return again from your MIS or spreadsheet and re-submit it", name))
        return
    if len(data) > MAX_BYTES:
        result.problems.append(_file_problem(
            "file_too_large", f"the file is {len(data) // (1024 * 1024)} MB, more than the "
            f"{MAX_BYTES // (1024 * 1024)} MB limit", "send only the return's pupil table", name))
        return
    if data.startswith(b"PK\x03\x04") or lower.endswith((".xlsx", ".xlsm")):
        result.file_format = "xlsx"
        if not data.startswith(b"PK\x03\x04"):
            result.problems.append(_file_problem(
                "file_unreadable", "the file is named .xlsx but is not an Excel workbook",
                "open it in Excel and use Save As > Excel Workbook (.xlsx), or save it as CSV", name))
            return
        try:
            sheets = _xlsx_sheets(data)
        except Exception as exc:  # noqa: BLE001
            result.problems.append(_file_problem(
                "file_unreadable",
                f"the file could not be opened as an Excel workbook ({type(exc).__name__})",
                "open it in Excel and use Save As > Excel Workbook (.xlsx), or save it as CSV", name))
            return
        if not sheets:
            result.problems.append(_file_problem(
                "no_rows", "the workbook has no sheet with data",
                "put the pupil table on the first sheet, one row per pupil below a header row", name))
            return
        chosen = None
        for sheet_name, rows, first in sheets:
            _, score = _find_header(rows.head(HEADER_SCAN_ROWS).rows(), aliases)
            if score >= 2:
                chosen = (sheet_name, rows, first)
                break
        chosen = chosen or sheets[0]
        result.sheet = chosen[0]
        _build_table(chosen[1], chosen[2], name, aliases, result)
        return
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        result.file_format = "xls"
        result.problems.append(_file_problem(
            "file_format", "this is an old Excel 97-2003 (.xls) file, which is not accepted",
            "open it in Excel and use Save As > Excel Workbook (.xlsx) or CSV UTF-8", name))
        return
    if data.startswith(b"%PDF") or lower.endswith((".pdf", ".doc", ".docx", ".ods", ".json", ".xml")):
        result.file_format = lower.rsplit(".", 1)[-1] if "." in lower else "unknown"
        result.problems.append(_file_problem(
            "file_format", "this is not a CSV or Excel (.xlsx) file",
            "export the return as CSV or Excel workbook (.xlsx) and submit that file", name))
        return
    result.file_format = "csv"
    text, encoding = decode_text(data)
    if text is None:
        result.problems.append(_file_problem(
            "encoding", "the file's text encoding could not be recognised (it is not UTF-8 or Windows-1252)",
            "in Excel use Save As > CSV UTF-8 (comma delimited), or submit the .xlsx file", name))
        return
    result.encoding = encoding
    if "\x00" in text:
        result.problems.append(_file_problem(
            "file_unreadable", "the file contains binary data, so it is not a CSV text file",
            "export the return as CSV UTF-8 or Excel workbook (.xlsx) and submit that file", name))
        return
    rows = _csv_grid(text)
    if not any(any((c or "").strip() for c in r) for r in rows):
        result.problems.append(_file_problem(
            "file_empty", "the file has no content (only blank lines)",
            "export the return again from your MIS or spreadsheet and re-submit it", name))
        return
    _build_table(rows, 1, name, aliases, result)
