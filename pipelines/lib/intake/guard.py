"""Limits checked before any reader sees a file, so a hostile file is refused, never read.

An XLSX is a zip of XML parts. A reader (calamine, openpyxl) trusts the sheet's `<dimension ref>`
and its cell positions and reserves memory for the whole rectangle they span: one stray cell at
XFD1048576 asks for ~512 GB and aborts the process. So before reading we
- check the compressed size, the number of zip members and their declared uncompressed sizes;
- inflate every XML part as a stream (a lying size header cannot get past the byte counter), and
  in each worksheet take the `<dimension ref>` AND the largest row and column of every cell
  reference actually present (cells without a position are counted in order, as Excel would);
- refuse a sheet whose rectangle (rows x columns) exceeds the cell limit.
Memory while checking is one chunk; time is bounded by the uncompressed-size limit.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

import pipelines.config as cfg


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 50 * 1024 * 1024          # the file as uploaded
    max_unpacked_bytes: int = 300 * 1024 * 1024     # all XML parts of a workbook, inflated
    max_members: int = 2000                         # parts in a workbook
    max_cells: int = 3_000_000                      # rows x columns of one sheet's rectangle
    max_columns: int = 2000                         # columns of a CSV header / sheet

    @classmethod
    def from_config(cls) -> "Limits":
        c = cfg.intake_limits()
        mb = 1024 * 1024
        return cls(max_file_bytes=int(c.get("max_file_mb", 50) * mb),
                   max_unpacked_bytes=int(c.get("max_unpacked_mb", 300) * mb),
                   max_members=int(c.get("max_members", 2000)),
                   max_cells=int(c.get("max_cells", 3_000_000)),
                   max_columns=int(c.get("max_columns", 2000)))


class Refused(Exception):
    """The file breaks a limit; `str(exc)` says what, in plain English; `fix` says what to do."""

    def __init__(self, rule: str, message: str, fix: str):
        super().__init__(message)
        self.rule, self.fix = rule, fix


SAVE_AGAIN = ("open the file in Excel, copy the table into a new workbook and save it as Excel "
              "workbook (.xlsx), or save it as CSV UTF-8")
TRIM = ("press Ctrl+End in Excel to find the last used cell, delete the empty rows and columns "
        "between your table and it (or copy the table into a new workbook), and save again")
CHUNK = 1 << 20
MAX_TAG = 1 << 20


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):,.0f} MB"


def col_number(letters: bytes | str) -> int:
    n = 0
    for ch in letters if isinstance(letters, str) else letters.decode():
        n = n * 26 + (ord(ch) - 64)
    return n


def col_letters(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def check_size(data: bytes | int, limits: Limits) -> None:
    size = data if isinstance(data, int) else len(data)
    if size > limits.max_file_bytes:
        raise Refused("file_too_large", f"the file is {_mb(size)}, more than the "
                      f"{_mb(limits.max_file_bytes)} the trust accepts",
                      "send only the table the trust asked for (one row per pupil), without images "
                      "or other sheets")


_DIM = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\bref=\"\$?([A-Z]{1,4})\$?(\d{1,8})(?::\$?([A-Z]{1,4})\$?(\d{1,8}))?\"")
_REF_LETTERS = re.compile(rb" r=\"([A-Z]{1,4})\d{1,8}\"")   # only cells have r="<letters><digits>"
_REF_DIGITS = re.compile(rb" r=\"[A-Z]{1,4}(\d{1,8})\"")
_CELL_PREFIXED = re.compile(rb"<\w+:c[\s>/]")
_TAG = re.compile(rb"<(?:\w+:)?(c|row)(?=[\s>/])([^>]*)>")
_R_ATTR = re.compile(rb"\sr=\"([A-Z]{0,4})(\d{1,8})\"")


@dataclass
class _Extent:
    rows: int = 0
    cols: int = 0
    positional: bool = False   # some cells or rows have no position: count them in order


def _count_cells(chunk: bytes) -> int:
    n = chunk.count(b"<c ") + chunk.count(b"<c>") + chunk.count(b"<c/")
    if b":c" in chunk:   # namespace-prefixed tags (<x:c ...>)
        n += len(_CELL_PREFIXED.findall(chunk))
    return n


def _scan_fast(chunk: bytes, ext: _Extent) -> None:
    """Largest row and column of the cell references in a chunk (C-speed: findall, set, max)."""
    letters = _REF_LETTERS.findall(chunk)
    if len(letters) != _count_cells(chunk):
        ext.positional = True
        return
    if letters:
        ext.cols = max(ext.cols, max(col_number(c) for c in set(letters)))
        ext.rows = max(ext.rows, max(map(int, set(_REF_DIGITS.findall(chunk)))))


class _Walk:
    """Cell positions in document order for sheets whose cells omit `r` (slow, exact)."""

    def __init__(self):
        self.row = 0
        self.col = 0
        self.max_row = 0
        self.max_col = 0

    def feed(self, chunk: bytes) -> None:
        for m in _TAG.finditer(chunk):
            ref = _R_ATTR.search(m.group(2))
            if m.group(1) == b"row":
                self.row = int(ref.group(2)) if ref else self.row + 1
                self.col = 0
            else:
                if ref and ref.group(1):
                    self.col = col_number(ref.group(1))
                    self.row = max(self.row, int(ref.group(2)))
                else:
                    self.col += 1
                self.max_col = max(self.max_col, self.col)
            self.max_row = max(self.max_row, self.row)


def _stream(z: zipfile.ZipFile, info: zipfile.ZipInfo, budget: list[int], limits: Limits):
    """Yield whole-tag chunks of one inflated member, counting real bytes against the budget."""
    carry = b""
    with z.open(info) as fh:
        while True:
            block = fh.read(CHUNK)
            if not block:
                break
            budget[0] += len(block)
            if budget[0] > limits.max_unpacked_bytes:
                raise Refused("file_too_large", "the workbook unpacks to more than "
                              f"{_mb(limits.max_unpacked_bytes)} of data, far more than its table needs "
                              "(it may be a 'zip bomb' or hold huge hidden content)", SAVE_AGAIN)
            data = carry + block
            lt, gt = data.rfind(b"<"), data.rfind(b">")
            cut = lt if lt > gt else len(data)
            carry = data[cut:]
            if len(carry) > MAX_TAG:
                raise Refused("file_unreadable", "the workbook holds an XML tag over 1 MB long, which "
                              "no spreadsheet writes", SAVE_AGAIN)
            yield data[:cut]
    if carry:
        yield carry


def check_xlsx(data: bytes, limits: Limits) -> None:
    """Raise Refused if the workbook is damaged or its sheets are too big to read safely."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise Refused("file_unreadable", "the file is not a complete Excel workbook (the file is damaged "
                      f"or was cut short: {str(exc)[:80]})", SAVE_AGAIN) from None
    with z:
        infos = z.infolist()
        if len(infos) > limits.max_members:
            raise Refused("file_unreadable", f"the workbook has {len(infos):,} parts, more than a "
                          "spreadsheet table needs", SAVE_AGAIN)
        parts = [i for i in infos if i.filename.lower().endswith((".xml", ".rels", ".vml"))]
        declared = sum(i.file_size for i in parts)
        if declared > limits.max_unpacked_bytes:
            raise Refused("file_too_large", f"the workbook unpacks to {_mb(declared)} of data "
                          f"(more than the {_mb(limits.max_unpacked_bytes)} allowed), far more than "
                          "its table needs (it may be a 'zip bomb')", SAVE_AGAIN)
        if not any(i.filename == "xl/workbook.xml" for i in infos):
            raise Refused("file_unreadable", "the file is a zip archive but not an Excel workbook",
                          SAVE_AGAIN)
        budget = [0]
        for info in parts:
            if info.flag_bits & 0x1:
                raise Refused("file_unreadable", "the workbook is password-protected",
                              "remove the password (File > Info > Protect Workbook) and save again")
            is_sheet = info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
            sheet = info.filename.rsplit("/", 1)[-1]
            ext, walk, first, start = _Extent(), None, True, budget[0]
            try:
                for chunk in _stream(z, info, budget, limits):
                    if not is_sheet:
                        continue
                    if first:
                        first = False
                        dim = _DIM.search(chunk)
                        if dim:
                            c1, r1, c2, r2 = dim.groups()
                            rows = int(r2 or r1)
                            cols = col_number(c2 or c1)
                            _check_area(sheet, rows, cols, limits, "declares")
                    if walk is None:
                        _scan_fast(chunk, ext)
                        if ext.positional:   # start again, exactly, in document order
                            walk = _Walk()
                            break
                    else:
                        walk.feed(chunk)
                    _check_area(sheet, ext.rows, ext.cols, limits, "reaches")
                if walk is not None:
                    budget[0] = start
                    for chunk in _stream(z, info, budget, limits):
                        walk.feed(chunk)
                        _check_area(sheet, walk.max_row, walk.max_col, limits, "reaches")
            except Refused:
                raise
            except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
                raise Refused("file_unreadable", "the workbook is damaged or cut short "
                              f"({type(exc).__name__}: {str(exc)[:80]})", SAVE_AGAIN) from None


def _check_area(sheet: str, rows: int, cols: int, limits: Limits, verb: str) -> None:
    if rows * cols > limits.max_cells or cols > limits.max_columns:
        raise Refused(
            "sheet_too_large",
            f"a sheet of the workbook ({sheet}) {verb} cell {col_letters(max(cols, 1))}{rows}: a rectangle of "
            f"{rows:,} rows x {cols:,} columns, more than the {limits.max_cells:,} cells the trust reads "
            "(usually a stray value or formatting far below or to the right of the table)", TRIM)


def check_csv_header(text: str, delim: str, limits: Limits, lines: int = 30) -> None:
    """Refuse a CSV whose first lines have more columns than any table the trust reads."""
    pos = 0
    for _ in range(lines):
        end = text.find("\n", pos)
        line = text[pos:] if end < 0 else text[pos:end]
        if line.count(delim) >= limits.max_columns:
            raise Refused("too_many_columns", f"a line near the top of the file has "
                          f"{line.count(delim) + 1:,} columns, more than the {limits.max_columns:,} allowed",
                          "send only the table the trust asked for, one row per pupil")
        if end < 0:
            break
        pos = end + 1
