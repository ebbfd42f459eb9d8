"""The template round-trips; messy but valid files (encodings, MIS headers, labels, title rows) read right."""
from __future__ import annotations

import openpyxl
import pytest

from pipelines.cli import main
from pipelines.lib.returns import spec
from pipelines.lib.returns.reader import read_return
from pipelines.lib.returns.submit import submit_file
from pipelines.lib.returns.validate import ValidationContext, validate_return
from tests.returns.helpers import corpus, load, query, write

C = corpus()
CTX = ValidationContext("100001", "2024-25", "R1")


def test_template_has_headers_instructions_and_dropdowns(tmp_path, capsys):
    out = tmp_path / "template.xlsx"
    assert main(["template", "--out", str(out)]) == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "Return" and "Instructions" in wb.sheetnames
    ws = wb["Return"]
    assert [c.value for c in ws[1]] == [c.name for c in spec.COLUMNS]
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    covered = {str(dv.sqref).split(":")[0].rstrip("0123456789") for dv in lists}
    coded = [i for i, c in enumerate(spec.COLUMNS) if c.kind not in ("upn", "text", "date")]
    letters = {openpyxl.utils.get_column_letter(i + 1) for i in coded}
    assert letters <= covered, "every coded column has a drop-down"
    dest_dv = next(dv for dv in lists if str(dv.sqref).startswith("F"))
    assert "Code lists" in dest_dv.formula1
    assert main(["template", "--out", str(tmp_path / "t.csv")]) == 2


def test_filled_template_is_accepted_and_loaded(data, tmp_path):
    out = tmp_path / "template.xlsx"
    assert main(["template", "--out", str(out)]) == 0
    wb = openpyxl.load_workbook(out)
    ws = wb["Return"]
    lists = wb["Code lists"]
    dest_choices = [c.value for c in next(col for col in lists.iter_cols() if col[0].value == "destination_code")[1:]
                    if c.value]
    for i, p in enumerate(C.pupils()):
        ws.append([p["upn"], int(p["year_group"]), p["sex"], p["disadvantaged"], p["sen_provision"],
                   dest_choices[i], "N", "N", "WBRI", "Digital", "Manchester College", "10004112", "4+",
                   "offer_made", "Y", None])
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)
    outcome = submit_file(filled, academy_urn="100001", leaving_year="2024-25", round_id="R1")
    assert outcome.status == "accepted", outcome.summary_text
    assert outcome.rows_accepted == C.N_PUPILS and outcome.exit_code == 0
    load(data, "2024-25", "R1")
    got = query(data, "select destination_code, level from raw.destination_returns order by source_row")
    assert [g[0] for g in got] == [d.split(" - ")[0] for d in dest_choices[:C.N_PUPILS]]
    assert {g[1] for g in got} == {"4+"}


def _ok(data: bytes, name: str, n: int = C.N_PUPILS):
    r = read_return(data, name)
    assert not r.rejected, r.problems
    v = validate_return(r, CTX, name)
    errors = [p for p in v.problems if p.severity != "warning"]
    assert not errors, errors
    assert v.rows_accepted == n
    return r, v


@pytest.mark.parametrize("enc", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_encodings(enc):
    rows = C.pupils()
    rows[0]["provider"] = "Café Sixth Form – Kendal"
    r, v = _ok(C.to_csv(rows, encoding=enc), "r.csv")
    assert v.frame["provider"][0] == "Café Sixth Form – Kendal"


@pytest.mark.parametrize("delim", [";", "\t", "|"])
def test_delimiters(delim):
    _ok(C.to_csv(C.pupils(), delimiter=delim), "r.csv")


def test_labels_and_spellings_are_accepted():
    rows = C.pupils()
    rows[0].update(sex="Female", sen_provision="SEN support", destination_code="Apprenticeship",
                   disadvantaged="Yes", fsm_eligible="TRUE", looked_after="0", year_group="Year 11",
                   september_guarantee="Offer made", level="Level 2", route="digital",
                   date_ascertained="01/11/2024")
    rows[1].update(sex="male", sen_provision="EHC plan", destination_code="230.0", disadvantaged="1")
    r, v = _ok(C.to_csv(rows), "r.csv")
    first = v.frame.row(0, named=True)
    assert (first["sex"], first["sen_provision"], first["destination_code"], first["disadvantaged"],
            first["fsm_eligible"], first["looked_after"], first["year_group"], first["september_guarantee"],
            first["level"], first["route"], str(first["date_ascertained"])) == (
        "F", "K", "310", True, True, False, 11, "offer_made", "2", "Digital", "2024-11-01")
    second = v.frame.row(1, named=True)
    assert (second["sex"], second["sen_provision"], second["destination_code"], second["disadvantaged"]) == (
        "M", "E", "230", True)


@pytest.mark.parametrize("headers", [
    ["UPN", "Year Group", "SEX", "Disadvantaged", "SEN_Provision", "Destination-Code"],
    ["Unique Pupil Number", "NC Year", "Gender", "Pupil Premium", "SEN Status", "Activity Code"],
    ["unique_pupil_number", "yr", "legal sex", "PP", "SEN", "NCCIS code"],
])
def test_header_variants(headers):
    names = dict(zip(["upn", "year_group", "sex", "disadvantaged", "sen_provision", "destination_code"], headers))
    rows = [{names.get(k, k): v for k, v in p.items()} for p in C.pupils()]
    r, _ = _ok(C.to_csv(rows, headers), "r.csv")
    assert r.headers["upn"] == headers[0]


def test_xlsx_with_title_rows_and_instructions_sheet_first_keeps_excel_row_numbers():
    rows = C.pupils()
    rows[4]["sex"] = "Q"
    data = C.to_xlsx(rows, title_rows=["Oak Hill Academy", "Destinations 2024-25", ""],
                     sheets_before=[("Instructions", [["How to fill in"], ["upn is the UPN"]])])
    r = read_return(data, "r.xlsx")
    assert r.sheet == "Return" and r.header_row == 4
    v = validate_return(r, CTX, "r.xlsx")
    bad = [p for p in v.problems if p.severity == "error"]
    assert [(p.rule, p.row, p.column) for p in bad] == [("invalid_value", 9, "sex")]


def test_csv_title_rows_blank_lines_and_row_numbers():
    rows = C.pupils()
    rows[2]["destination_code"] = "999"
    data = C.to_csv(rows, title_rows=["Oak Hill Academy destinations", ""])
    lines = data.split(b"\r\n")
    data = b"\r\n".join(lines[:5] + [b""] + lines[5:])   # a blank line inside the table
    r = read_return(data, "r.csv")
    v = validate_return(r, CTX, "r.csv")
    bad = [p for p in v.problems if p.severity == "error"]
    # title (1), blank (2), header (3), pupils 0,1 (4,5), blank (6), pupil 2 (7)
    assert [(p.rule, p.row) for p in bad] == [("unknown_destination_code", 7)]


def test_generator_formats_are_all_read(tmp_path):
    from pipelines.lib.generate import writers
    import polars as pl

    df = pl.DataFrame([{c: (p[c] or None) for c in writers.RETURN_COLUMNS} for p in C.pupils()])
    for fmt in writers.FORMATS:
        data = writers.render(df, fmt, title="2024-25 R1")
        _ok(data, writers.file_name(fmt, "100001", "2024-25", "R1"))


def test_extended_aliases_from_config(tmp_path, monkeypatch):
    cfgdir = tmp_path / "cfg"
    cfgdir.mkdir()
    import shutil
    from pipelines.config import PROJECT_ROOT
    shutil.copy(PROJECT_ROOT / "config" / "trust.yaml", cfgdir / "trust.yaml")
    (cfgdir / "header_aliases.yaml").write_text("destination_code:\n  - Where next\n", encoding="utf-8")
    monkeypatch.setenv("DESTINATIONS_CONFIG_DIR", str(cfgdir))
    cols = [c if c != "destination_code" else "Where Next" for c in C.COLUMNS]
    rows = [{("Where Next" if k == "destination_code" else k): v for k, v in p.items()} for p in C.pupils()]
    _ok(C.to_csv(rows, cols), "r.csv")
    (cfgdir / "header_aliases.yaml").write_text("sex:\n  - Gender\ndestination_code:\n  - gender\n")
    r = read_return(C.to_csv(C.pupils()), "r.csv")
    assert r.rejected and "listed under both" in r.problems[0].message
