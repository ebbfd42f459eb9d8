"""The optional pupil_name return column at validation: any of its headers is recognised, the
value is kept for the warehouse, and a warning about it never quotes the name (feedback reports
go out by email and sit in raw.return_problems)."""
from __future__ import annotations

from pipelines.lib.returns import spec
from pipelines.lib.returns.reader import read_return
from pipelines.lib.returns.validate import ValidationContext, validate_return
from pipelines.lib.upn import make_upn

CTX = ValidationContext("100001", "2024-25", "R1")


def _csv(header: str, names: list[str]) -> bytes:
    rows = [f"upn,year_group,sex,disadvantaged,sen_provision,destination_code,{header}"]
    rows += [f"{make_upn(352, 4001, 9, i + 1)},11,F,N,N,UND,{n}" for i, n in enumerate(names)]
    return ("\n".join(rows) + "\n").encode()


def test_headers_map_to_pupil_name_and_values_are_kept():
    assert spec.PERSONAL == {"pupil_name"} and "pupil_name" in spec.OPTIONAL
    for header in ("Name", "Pupil Name", "ADMISSION NUMBER", "adno", "pupil_name"):
        v = validate_return(read_return(_csv(header, ["Ada Quillfeather", "10432"]), "r.csv"), CTX, "r.csv")
        assert not v.rejected, v.problems
        assert v.frame["pupil_name"].to_list() == ["Ada Quillfeather", "10432"], header


def test_a_warning_about_a_name_never_quotes_it():
    long = "Bartholomew " * 40
    v = validate_return(read_return(_csv("Pupil Name", ["=HYPERLINK(\"x\")Zebedee", long]), "r.csv"),
                        CTX, "r.csv")
    about = [p for p in v.problems if p.column == "Pupil Name"]
    assert {p.rule for p in about} == {"formula_injection", "value_shortened"}
    assert all(p.value in (None, "") for p in about)
    text = repr([p.__dict__ for p in v.problems])
    assert "Zebedee" not in text and "Bartholomew" not in text
    assert v.frame["pupil_name"][0].startswith("'=")   # neutralised, kept for the academy's list
