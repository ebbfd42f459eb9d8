"""Compare two reports folders (governor packs, public statements, trustee pack) for what they say.

    .venv/bin/python bench/compare_documents.py BEFORE_REPORTS AFTER_REPORTS

Same set of files; every PDF the same text page by page (pypdf) and the same number of pages and
images; HTML byte-identical once the publication date is masked; XLSX the same cell values on
every sheet (the generation date masked); JSON the same once `generated_at` is masked; chart PNGs the same pixels. Prints one
line per kind and every difference; exit 1 when anything differs. Byte-identical files count too.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATE = re.compile(rb"\d{4}-\d\d-\d\d( \d\d:\d\d UTC)?")


def _pdf(path: Path) -> tuple:
    from pypdf import PdfReader
    r = PdfReader(str(path))
    # the generation date/time printed on a page is masked like the HTML's
    return tuple((DATE.sub(b"<date>", (p.extract_text() or "").encode()).decode(), len(p.images)) for p in r.pages)


def _xlsx(path: Path) -> dict:
    from openpyxl import load_workbook
    wb = load_workbook(str(path), read_only=True)
    def cell(v):   # the generation date/time in a text cell is masked
        return DATE.sub(b"<date>", v.encode()).decode() if isinstance(v, str) else v
    return {ws.title: [[cell(v) for v in r] for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def _png(path: Path) -> tuple:
    from PIL import Image
    with Image.open(path) as im:
        return im.size, im.mode, im.tobytes()


def _json(path: Path):
    d = json.loads(path.read_text())
    if isinstance(d, dict):
        d.pop("generated_at", None)
    return d


def same(a: Path, b: Path) -> bool:
    if a.read_bytes() == b.read_bytes():
        return True
    ext = a.suffix.lower()
    if ext == ".pdf":
        return _pdf(a) == _pdf(b)
    if ext == ".html":
        return DATE.sub(b"<date>", a.read_bytes()) == DATE.sub(b"<date>", b.read_bytes())
    if ext == ".xlsx":
        return _xlsx(a) == _xlsx(b)
    if ext == ".png":
        return _png(a) == _png(b)
    if ext == ".json":
        return _json(a) == _json(b)
    return False


def main() -> int:
    before, after = Path(sys.argv[1]), Path(sys.argv[2])

    def files(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
                and not p.name.startswith(".")}          # .built.json, .built_from_snapshot, temp files

    fa, fb = files(before), files(after)
    bad = 0
    for name in sorted(fa ^ fb):
        print(f"only in {'before' if name in fa else 'after'}: {name}")
        bad += 1
    counts: dict[str, list[int]] = {}
    for name in sorted(fa & fb):
        a, b = before / name, after / name
        c = counts.setdefault(a.suffix.lower() or "(none)", [0, 0, 0])
        c[0] += 1
        if a.read_bytes() == b.read_bytes():
            c[1] += 1
        elif same(a, b):
            c[2] += 1
        else:
            print(f"DIFFERS: {name}")
            bad += 1
    for ext, (n, ident, equal) in sorted(counts.items()):
        print(f"{ext:<6} {n:4d} files: {ident} byte-identical, {equal} same content, {n - ident - equal} differ")
    print("SAME" if not bad else f"{bad} differences")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
