"""The messy academies' files really are messy, yet hold exactly the truth's pupils."""
from __future__ import annotations

import csv
import io
import re

import openpyxl
import polars as pl
import pytest

from pipelines.config import destination_codes

ALIASES = {"uniquepupilnumber": "upn", "ncyear": "year_group", "gender": "sex",
           "pupilpremium": "disadvantaged", "senstatus": "sen_provision",
           "destination": "destination_code"}
LABELS = {"Male": "M", "Female": "F", "No SEN": "N", "SEN support": "K", "EHC plan": "E"}


def _norm(h: str) -> str:
    key = re.sub(r"[\s_\-]", "", h.lower())
    return ALIASES.get(key, {re.sub(r"[\s_\-]", "", c): c for c in [
        "upn", "year_group", "sex", "disadvantaged", "sen_provision", "destination_code",
        "fsm_eligible", "looked_after", "ethnicity", "route", "provider", "provider_id", "level",
        "september_guarantee", "consent_follow_up", "date_ascertained"]}.get(key, key))


def _read(path) -> list[dict]:
    """A small independent reader: xlsx (header row found by content), csv in utf-8/BOM/cp1252."""
    if path.suffix == ".xlsx":
        ws = openpyxl.load_workbook(path, read_only=True).worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        h = next(i for i, r in enumerate(rows) if r and any(str(c).lower() == "upn" for c in r if c))
        header = [_norm(str(c)) for c in rows[h]]
        data = [["" if v is None else str(v) for v in r] for r in rows[h + 1:]]
    else:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252")
        rdr = list(csv.reader(io.StringIO(text)))
        header, data = [_norm(c) for c in rdr[0]], rdr[1:]
    label_to_code = {r["label"]: c for c, r in destination_codes().items()}
    out = []
    for r in data:
        d = dict(zip(header, r))
        d["sex"] = LABELS.get(d["sex"], d["sex"])
        d["sen_provision"] = LABELS.get(d["sen_provision"], d["sen_provision"])
        d["destination_code"] = label_to_code.get(d["destination_code"], d["destination_code"])
        out.append(d)
    return out


def _truth_for(out, rel):
    p = pl.read_parquet(out / "_truth" / "pupils.parquet").filter(pl.col("source_file") == rel)
    return {u: (str(y), s, "Y" if d else "N", e, c, pv or "") for u, y, s, d, e, c, pv in
            p.select("upn", "year_group", "sex", "disadvantaged", "sen_provision",
                     "destination_code", "provider").iter_rows()}


def _files(out, pattern):
    return sorted((out / "raw" / "returns").rglob(pattern))


@pytest.mark.parametrize("pattern", ["MIS export *.csv", "* destinations R*.csv", "*.xlsx",
                                     "destinations_*.csv"])
def test_files_parse_to_the_truth(small_trust, pattern):
    out, _ = small_trust
    files = _files(out, pattern)
    assert files
    for f in files[:6]:
        rows = _read(f)
        rel = f.relative_to(out).as_posix()
        got = {r["upn"]: (r["year_group"], r["sex"], r["disadvantaged"], r["sen_provision"],
                          r["destination_code"], r["provider"]) for r in rows}
        assert len(got) == len(rows)
        assert got == _truth_for(out, rel)


def test_cp1252_file_is_not_utf8_but_has_typographic_characters(small_trust):
    out, _ = small_trust
    files = _files(out, "* destinations R*.csv")
    raw = files[0].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp1252")
    assert "’" in text or "é" in text
    assert "\r\n" in text
    assert all(f.read_bytes().decode("cp1252") for f in files)


def test_mis_export_uses_aliases_and_labels(small_trust):
    out, _ = small_trust
    f = _files(out, "MIS export R3 *.csv")[0]
    text = f.read_text(encoding="utf-8")
    header = text.splitlines()[0]
    for alias in ("Unique Pupil Number", "NC Year", "Gender", "Pupil Premium", "SEN Status", "Destination"):
        assert alias in header
    assert ",Male," in text and ",Female," in text
    assert "Full-time education - " in text
    r1 = _files(out, "MIS export R1 *.csv")[0].read_text(encoding="utf-8")
    assert "Undecided (no intention yet)" in r1


def test_bom_file_starts_with_a_bom(small_trust):
    out, _ = small_trust
    reg = pl.read_csv(out / "raw" / "academies.csv", infer_schema=False)
    boms = [f for f in _files(out, "destinations_*.csv") if f.read_bytes()[:3] == b"\xef\xbb\xbf"]
    assert boms
    urns = {f.relative_to(out / "raw" / "returns").parts[0] for f in boms}
    assert len(urns) == 1 and urns <= set(reg["urn"])


def test_xlsx_has_title_rows_and_an_instructions_sheet(small_trust):
    out, _ = small_trust
    f = _files(out, "*.xlsx")[0]
    wb = openpyxl.load_workbook(f, read_only=True)
    assert wb.sheetnames == ["Return", "Instructions"]
    rows = list(wb["Return"].iter_rows(min_row=1, max_row=4, values_only=True))
    assert rows[0][0].startswith("Northstar Learning Trust") and rows[0][1] is None
    assert rows[2][0] == "upn"
    assert isinstance(rows[3][1], int)  # year group stored as a number
