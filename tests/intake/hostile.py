"""Hostile files, generated in the test (small on disk): what careless or malicious senders send."""
from __future__ import annotations

import io
import random
import zipfile
import zlib
from typing import Iterable

from tests.intake import deflate_bomb as B
from tests.returns.helpers import corpus

CT = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
      b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
      b'<Default Extension="xml" ContentType="application/xml"/>'
      b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
      b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
      b'</Types>')
RELS = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        b'</Relationships>')
WB = (b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
      b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
      b'<sheet name="Return" sheetId="1" r:id="rId1"/></sheets></workbook>')
WB_RELS = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
           b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
           b'</Relationships>')
HEAD = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def _col(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _esc(v: str) -> str:
    return v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sheet_rows(rows: Iterable[list[str]], start: int = 1, refs: bool = True) -> Iterable[bytes]:
    for i, row in enumerate(rows, start=start):
        cells = "".join(
            f'<c{f" r={chr(34)}{_col(j)}{i}{chr(34)}" if refs else ""} t="inlineStr"><is><t>{_esc(v)}</t></is></c>'
            for j, v in enumerate(row, start=1) if v not in (None, ""))
        yield (f'<row r="{i}">' if refs else "<row>").encode() + cells.encode() + b"</row>"


def workbook(body: Iterable[bytes], dimension: str | None = None, extra_cell: str | None = None) -> bytes:
    """A minimal real .xlsx: one sheet 'Return' whose sheetData is `body` (streamed into the zip)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", CT)
        z.writestr("_rels/.rels", RELS)
        z.writestr("xl/workbook.xml", WB)
        z.writestr("xl/_rels/workbook.xml.rels", WB_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w") as fh:
            fh.write(HEAD)
            if dimension:
                fh.write(f'<dimension ref="{dimension}"/>'.encode())
            fh.write(b"<sheetData>")
            for chunk in body:
                fh.write(chunk)
            if extra_cell:
                col = extra_cell.rstrip("0123456789")
                row = extra_cell[len(col):]
                fh.write(f'<row r="{row}"><c r="{extra_cell}" t="inlineStr"><is><t>x</t></is></c></row>'.encode())
            fh.write(b"</sheetData></worksheet>")
    return buf.getvalue()


def header_and_pupils(n: int = 8, estab: int = 4001) -> list[list[str]]:
    C = corpus()
    return [C.COLUMNS] + [[p[c] for c in C.COLUMNS] for p in C.pupils(n, estab=estab)]


def stray_cell(ref: str) -> bytes:
    """A valid 5-pupil return plus one stray cell at `ref` (XFD1048576: ~1.6 KB on disk)."""
    return workbook(sheet_rows(header_and_pupils(5)), dimension=f"A1:{ref}", extra_cell=ref)


def stray_cell_lying_dimension(ref: str) -> bytes:
    """As `stray_cell`, but the <dimension> claims A1:P6: only streaming the cell refs finds it."""
    return workbook(sheet_rows(header_and_pupils(5)), dimension="A1:P6", extra_cell=ref)


def zip_bomb(inflated_mb: int = 1024, declared: int | None = None) -> bytes:
    """A 'return' of 5 valid pupils whose sheet inflates to ~1 GB of blanks (~0.5 MB on disk).
    `declared`: the uncompressed size the zip headers claim (a lying bomb), default the truth."""
    prefix = HEAD + b"<sheetData>" + b"".join(sheet_rows(header_and_pupils(5)))
    groups = inflated_mb * (1 << 20) // (258 * 8)
    data, crc, usize = B.member(prefix, groups, b"</sheetData></worksheet>")
    parts = [(n, *B.deflated(x)) for n, x in (("[Content_Types].xml", CT), ("_rels/.rels", RELS),
                                                ("xl/workbook.xml", WB), ("xl/_rels/workbook.xml.rels", WB_RELS))]
    return B.zip_bytes(parts + [("xl/worksheets/sheet1.xml", data, crc, declared or usize)])


def lying_zip_bomb(inflated_mb: int = 1024) -> bytes:
    """A bomb whose zip headers claim the sheet is 2 KB: only counting the real bytes catches it."""
    return zip_bomb(inflated_mb, declared=2048)


def many_rows_xlsx(n: int = 300_000) -> bytes:
    C = corpus()
    p = C.pupils(1)[0]
    rows = ([C.COLUMNS[:6]] + [[C.upn(i % 1000, estab=5000 + i // 1000)] + [p[c] for c in C.COLUMNS[1:6]]
                               for i in range(n)])
    return workbook(sheet_rows(rows))


def many_rows_csv(n: int = 300_000) -> bytes:
    C = corpus()
    p = C.pupils(1)[0]
    lines = [",".join(C.COLUMNS[:6])] + [
        ",".join([C.upn(i % 1000, estab=5000 + i // 1000)] + [p[c] for c in C.COLUMNS[1:6]]) for i in range(n)]
    return ("\r\n".join(lines) + "\r\n").encode()


def big_cell_csv(mb: int = 5, estab: int = 4001) -> bytes:
    C = corpus()
    rows = C.pupils(estab=estab)
    rows[2]["provider"] = "A" * (mb * 1024 * 1024)
    rows[3]["upn"] = "=" + "9" * (mb * 1024 * 1024)
    return C.to_csv(rows)


def big_cell_xlsx(mb: int = 5) -> bytes:
    rows = header_and_pupils(8)
    rows[3][10] = "B" * (mb * 1024 * 1024)
    return workbook(sheet_rows(rows))


def truncated_xlsx() -> bytes:
    good = corpus().to_xlsx(corpus().pupils())
    return good[: len(good) // 2]


def random_bytes(n: int = 4096, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(n)


def no_refs_stray() -> bytes:
    """Cells without positions: the stray cell is only found by counting cells in order."""
    rows = header_and_pupils(5)
    rows[1] = rows[1] + [""] * 3 + ["x"]          # still small
    body = list(sheet_rows(rows, refs=False))
    body.append(b"<row>" + b"<c/>" * 20000 + b'<c t="inlineStr"><is><t>x</t></is></c></row>' * 1)
    body += [b"<row/>"] * 400
    return workbook(body)


CORPUS = {
    "stray_XFD1048576.xlsx": lambda: stray_cell("XFD1048576"),
    "stray_CV100000.xlsx": lambda: stray_cell("CV100000"),
    "stray_lying_dimension.xlsx": lambda: stray_cell_lying_dimension("XFD1048576"),
    "stray_no_positions.xlsx": no_refs_stray,
    "zip_bomb.xlsx": zip_bomb,
    "lying_zip_bomb.xlsx": lying_zip_bomb,
    "truncated.xlsx": truncated_xlsx,
    "random.xlsx": random_bytes,
    "random.csv": lambda: random_bytes(seed=8),
    "empty.csv": lambda: b"",
    "empty.xlsx": lambda: b"",
    "rows_300000.csv": many_rows_csv,
    "rows_300000.xlsx": many_rows_xlsx,
    "big_cell.csv": big_cell_csv,
    "big_cell.xlsx": big_cell_xlsx,
}
CORPUS["at_limit_3M_cells.xlsx"] = lambda: many_rows_xlsx(499_999)   # 500,000 x 6 = the max_cells limit
SLOW = {"rows_300000.xlsx", "at_limit_3M_cells.xlsx"}   # built in Python: ~25 s; the CSV twin covers the same rows in tests


def corpus_files(only: list[str] | None = None, skip_slow: bool = True) -> dict[str, bytes]:
    """name -> bytes: the hostile corpus (generated in memory; nothing large on disk)."""
    names = only or [n for n in CORPUS if not (skip_slow and n in SLOW)]
    return {n: CORPUS[n]() for n in names}


def deflated_size(data: bytes) -> int:
    return len(zlib.compress(data, 9))
