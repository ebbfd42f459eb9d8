"""Bytes of a CSV or XLSX file -> one table of text cells with the row numbers the sender sees.

`read_table` never raises: anything it cannot or will not read becomes a file-level `Problem`
saying what is wrong and how to fix it. Every file passes `guard` first. XLSX is read by
fastexcel (calamine) from Excel row 1 (`skip_rows=0`), so row numbers need no XML of our own;
CSV by polars (the csv module only for the first lines, and as a fallback for odd quoting).
The header row is the row among the first 30 with most known column names, over all visible
sheets. Body cells are text: NBSP -> space, trimmed, '' -> null; blank rows dropped.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from typing import Callable, Iterable, Iterator

import polars as pl

from pipelines.lib.intake import guard
from pipelines.lib.intake.cells import clean
from pipelines.lib.problems import Problem

HEADER_SCAN_ROWS = 30
ROW = "_row"                       # Excel row number of each body row
CSV_FALLBACK_MAX = 20 * 1024 * 1024
SAVE_AS = "open the file in Excel and save it again as CSV UTF-8 or Excel workbook (.xlsx)"


@dataclass
class Table:
    """The chosen table: header cells as written, body text columns c0..cN + _row."""

    header: list[str] = field(default_factory=list)
    body: pl.DataFrame | None = None
    columns: dict[str, int] = field(default_factory=dict)   # field -> column index
    header_row: int = 0
    file_format: str = ""
    encoding: str | None = None
    sheet: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        return any(p.severity == "file" for p in self.problems)

    @property
    def height(self) -> int:
        return 0 if self.body is None else self.body.height

    def column(self, j: int) -> pl.Series:
        return self.body[f"c{j}"]


def decode_text(data: bytes) -> tuple[str | None, str | None]:
    """(text, encoding) for UTF-8 (with or without BOM), UTF-16 with BOM, or cp1252."""
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError:
                return None, None
    for enc in ("utf-8", "cp1252"):
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    return None, None


def sniff_delimiter(text: str) -> str:
    lines = _first_lines(text[:200_000], HEADER_SCAN_ROWS + 5)
    lines = [ln for ln in lines if ln.strip()]
    return max((",", ";", "\t", "|"), key=lambda d: sum(ln.count(d) for ln in lines))


def _first_lines(text: str, n: int) -> list[str]:
    """text.splitlines()[:n] without splitting the whole text: a short prefix holding n + 2 lines
    already holds the first n whole (a line break cut in two, \r|\n, is past them)."""
    size = 8192
    while size < len(text):
        lines = text[:size].splitlines()
        if len(lines) > n + 1:
            return lines[:n]
        size *= 4
    return text.splitlines()[:n]


def _csv_records(text: str, delim: str):
    csv.field_size_limit(64 * 1024 * 1024)
    return csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=False)


def quotes_paired(text: str) -> bool:
    """No quote mark outside a "" pair (an empty quoted cell, common in exports): no cell can span
    lines, so polars and the csv module count the same rows (tests/intake/test_read_quotes.py), and
    the file need not be parsed twice to check it."""
    return '"' not in text.replace('""', '')


class _Grid:
    """Cells of one sheet or CSV: `head(n)` as lists, `body(start, width)` as a text frame."""

    def head(self, n: int) -> list[list]:
        raise NotImplementedError

    def body(self, start: int, width: int) -> pl.DataFrame:
        raise NotImplementedError


class _Frame(_Grid):
    def __init__(self, frame: pl.DataFrame):
        self.frame = frame.rename({c: f"c{j}" for j, c in enumerate(frame.columns)})

    def head(self, n: int) -> list[list]:
        return [list(r) for r in self.frame.head(n).iter_rows()]

    def body(self, start: int, width: int) -> pl.DataFrame:
        f = self.frame.slice(start)
        return f.select([pl.col(f"c{j}") if j < f.width else pl.lit(None, pl.Utf8).alias(f"c{j}")
                         for j in range(width)])


class _Csv(_Grid):
    def __init__(self, text: str, delim: str):
        self.text, self.delim = text, delim

    def head(self, n: int) -> list[list]:
        return list(islice(_csv_records(self.text, self.delim), n))

    def body(self, start: int, width: int) -> pl.DataFrame:
        schema = {f"c{j}": pl.Utf8 for j in range(width)}
        try:
            df = pl.read_csv(io.BytesIO(self.text.encode("utf-8")), has_header=False, schema=schema,
                             separator=self.delim, quote_char='"', truncate_ragged_lines=True,
                             infer_schema=False, raise_if_empty=False)
            # quotes that can make the two parsers count rows differently: compare with the csv module
            if quotes_paired(self.text) or sum(1 for _ in _csv_records(self.text, self.delim)) == df.height:
                return df.slice(start)
        except pl.exceptions.PolarsError:
            pass
        if len(self.text) > CSV_FALLBACK_MAX:
            raise guard.Refused("file_unreadable", "the file's quote marks (\") do not pair up, so its "
                                "rows cannot be told apart", SAVE_AS)
        cols: list[list] = [[] for _ in range(width)]
        for k, rec in enumerate(_csv_records(self.text, self.delim)):
            if k < start:
                continue
            for j in range(width):
                cols[j].append(rec[j] if j < len(rec) else None)
        return pl.DataFrame({f"c{j}": pl.Series(cols[j], dtype=pl.Utf8) for j in range(width)}, schema=schema)


def _xlsx_grids(data: bytes) -> list[tuple[str, _Grid]]:
    """Visible sheets with cells, from Excel row 1. The guard has already bounded every sheet."""
    import fastexcel

    reader = fastexcel.read_excel(data)
    out = []
    for name in reader.sheet_names:
        sheet = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string")
        if sheet.visible != "visible" or sheet.width == 0 or sheet.height == 0:
            continue
        frame = sheet.to_polars()
        # date cells as ISO dates (with a time only if any); only columns with a 19-character cell can hold one
        stamps = [c for c, n in frame.select((pl.all().str.len_chars() == 19).any()).row(0, named=True).items() if n]
        if stamps:
            frame = frame.with_columns(
                pl.col(stamps).str.replace(r"^(\d{4}-\d{2}-\d{2}) 00:00:00$", "$1")
                .str.replace(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$", "${1}T$2"))
        out.append((name, _Frame(frame)))
    return out


def _grids(data: bytes, name: str, table: Table, limits: guard.Limits) -> list[tuple[str | None, _Grid]]:
    lower = name.lower()
    if data.startswith(b"PK\x03\x04") or lower.endswith((".xlsx", ".xlsm")):
        table.file_format = "xlsx"
        if not data.startswith(b"PK\x03\x04"):
            raise guard.Refused("file_unreadable", "the file is named .xlsx but is not an Excel workbook",
                                "open it in Excel and use Save As > Excel Workbook (.xlsx), or save it as CSV")
        guard.check_xlsx(data, limits)
        try:
            return _xlsx_grids(data)
        except Exception as exc:  # noqa: BLE001 - a damaged workbook is feedback
            raise guard.Refused("file_unreadable", "the file could not be opened as an Excel workbook "
                                f"({type(exc).__name__}: {str(exc)[:120]})", SAVE_AS) from None
    if data.startswith((b"\xd0\xcf\x11\xe0", b"%PDF")) or lower.endswith(
            (".xls", ".pdf", ".doc", ".docx", ".ods", ".json", ".xml", ".zip")):
        table.file_format = lower.rsplit(".", 1)[-1] if "." in lower else "unknown"
        what = "an old Excel 97-2003 (.xls) file" if data.startswith(b"\xd0\xcf\x11\xe0") else "not a CSV or Excel (.xlsx) file"
        raise guard.Refused("file_format", f"this is {what}, which is not accepted", SAVE_AS)
    table.file_format = "csv"
    text, encoding = decode_text(data)
    if text is None:
        raise guard.Refused("encoding", "the file's text encoding could not be recognised (it is not UTF-8 "
                            "or Windows-1252 text)", "in Excel use Save As > CSV UTF-8, or send the .xlsx file")
    if "\x00" in text:
        raise guard.Refused("file_unreadable", "the file contains binary data, so it is not a CSV text file",
                            SAVE_AS)
    table.encoding = encoding
    if not text.strip():
        raise guard.Refused("file_empty", "the file has no content (only blank lines)",
                            "export the file again and re-send it")
    delim = sniff_delimiter(text)
    guard.check_csv_header(text, delim, limits)
    return [(None, _Csv(text, delim))]


def file_bytes(path, limits: guard.Limits | None = None) -> bytes:
    """The bytes of a landed file, refusing (guard.Refused) one too large to read into memory."""
    guard.check_size(path.stat().st_size, limits or guard.Limits.from_config())
    return path.read_bytes()


@lru_cache(maxsize=65536)
def _norm_default(text) -> str:
    from pipelines.lib.returns.spec import norm_header
    return norm_header(text)


def read_table(data: bytes, name: str, aliases: dict[str, str], required: list[str], *,
               is_extra_key: Callable[[str], bool] = lambda key: False, what: str = "file",
               header_fix: str | None = None, limits: guard.Limits | None = None,
               norm: Callable[[object], str] = _norm_default, raw_cells: bool = False) -> Table:
    """Read a file into a Table. `aliases`: normalised header -> field; `required`: fields that
    must be present; `is_extra_key(normalised header)`: an unknown header that still counts
    (half) towards finding the header row, e.g. an FSQ item id. `raw_cells`: body cells as read,
    numbered but not cleaned (`clean_cells`) nor filtered, for a caller cleaning many files at once.
    Never raises."""
    table = Table()
    try:
        limits = limits or guard.Limits.from_config()
        if not data:
            raise guard.Refused("file_empty", "the file is empty (0 bytes)",
                                "export the file again from your MIS or spreadsheet and re-send it")
        guard.check_size(data, limits)
        best = None   # (score, sheet, grid, header index, header cells)
        for sheet, grid in _grids(data, name, table, limits):
            for i, row in enumerate(grid.head(HEADER_SCAN_ROWS)):
                # a row scores at most 1 a cell: one no longer than the best so far cannot beat it
                # (the usual file: header first, data rows as wide; its data cells need not be read)
                if best is not None and len(row) <= best[0]:
                    continue
                keys = [norm(c) for c in row if clean(c) is not None]
                score = len({aliases[k] for k in keys if k in aliases}) + 0.5 * sum(
                    1 for k in keys if k not in aliases and is_extra_key(k))
                if score > 0 and (best is None or score > best[0]):
                    best = (score, sheet, grid, i, row)
        if best is None:
            if table.file_format == "xlsx":
                raise guard.Refused("no_rows", "the workbook has no sheet with a table",
                                    "put the table on the first sheet, one row per pupil below a header row")
            raise guard.Refused("no_header", f"no header row was found: none of the first rows of the {what} "
                                f"has column names such as {', '.join(required)}",
                                header_fix or f"put the column headers ({', '.join(required)}) in one row "
                                "above the data")
        _, table.sheet, grid, hi, cells = best
        table.header_row = hi + 1
        table.header = [clean(c) or "" for c in cells]
        for j, h in enumerate(table.header):
            f = aliases.get(norm(h)) if h else None
            if f is None:
                continue
            if f in table.columns:
                table.problems.append(Problem(
                    "file", "duplicate_column", f"two columns are both read as '{f}': "
                    f"'{table.header[table.columns[f]]}' and '{h}'", "keep only one of these columns "
                    "and delete the other", file=name, row=table.header_row, column=h))
                continue
            table.columns[f] = j
        body = grid.body(hi + 1, len(table.header))
        table.body = (body.with_columns(_row_numbers(body, table.header_row)) if raw_cells
                      else _clean_body(body, table.header_row))
    except guard.Refused as exc:
        table.problems.append(Problem("file", exc.rule, str(exc), exc.fix, file=name))
    except Exception as exc:  # noqa: BLE001 - every failure becomes feedback, never a crash
        table.problems.append(Problem("file", "file_unreadable",
                                      f"the file could not be read ({type(exc).__name__}: {str(exc)[:150]})",
                                      SAVE_AS, file=name))
    if table.rejected:
        table.body = None
    return table


def _row_numbers(df: pl.DataFrame, header_row: int) -> pl.Expr:
    return pl.int_range(header_row + 1, header_row + 1 + df.height, dtype=pl.Int64).alias(ROW)


def clean_cells(frame: pl.LazyFrame, columns: list[str]) -> pl.LazyFrame:
    """Text cells: NBSP -> space, trimmed, '' -> null (one expression over all columns: a list of
    per-column expressions costs ~5x more per file)."""
    cells = pl.col(columns)
    return (frame.with_columns(cells.str.replace_all("\u00a0", " ", literal=True).str.strip_chars())
            .with_columns(pl.when(cells != "").then(cells).name.keep()))


# a cell that `clean_cells` would change other than '' -> null: whitespace (NBSP included) at either
# end, or a NBSP anywhere (Rust's regex \s and polars' strip_chars() both mean Unicode White_Space)
NEEDS_TRIM = r"^\s|\s$|\x{a0}"


def _clean_body(df: pl.DataFrame, header_row: int) -> pl.DataFrame:
    """Text columns cleaned (`clean_cells`); _row = Excel row; blank rows dropped. One pass finds what
    there is to do (nearly every export: nothing), so clean columns and rows are not copied."""
    row = _row_numbers(df, header_row)
    if not df.width:
        return df.with_columns(row).head(0)
    cols = df.columns
    found = df.select(pl.col(cols).str.contains(NEEDS_TRIM).any().name.suffix("\0trim"),
                      (pl.col(cols) == "").any().name.suffix("\0empty"),
                      pl.all_horizontal(pl.col(cols).is_null()).any().alias("\0blank")).row(0, named=True)
    trim = [c for c in cols if found[f"{c}\0trim"]]
    empty = [c for c in cols if found[f"{c}\0empty"] and c not in trim]
    frame = df.lazy()
    if trim:
        frame = clean_cells(frame, trim)
    if empty:
        frame = frame.with_columns(pl.when(pl.col(empty) != "").then(pl.col(empty)).name.keep())
    frame = frame.with_columns(row)
    if trim or empty or found["\0blank"]:   # a cell just emptied may leave a blank row
        frame = frame.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in cols]))
    return frame.collect()


def read_ahead(items: Iterable[tuple], fn: Callable, workers: int = 2, ahead: int = 8) -> Iterator:
    """`fn(*item)` for each item, in order, computed up to `ahead` items ahead by `workers` threads
    (reading a file is mostly polars, fastexcel and zlib, which release the GIL), so files are read
    on both cores while the caller works on the earlier ones. Memory: `ahead` files at most."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="intake-read") as pool:
        queue: deque = deque()
        for item in items:
            queue.append(pool.submit(fn, *item))
            if len(queue) >= ahead:
                yield queue.popleft().result()
        while queue:
            yield queue.popleft().result()
