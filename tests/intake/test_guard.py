"""The intake guard against hostile files: each attack is tried, the process survives, the sender
gets a plain message. Reader level (fast); the submit / landing / run paths are in test_hostile_paths."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from pipelines.lib.intake import guard
from pipelines.lib.intake.cells import parse_date, safe_value
from pipelines.lib.intake.read import read_table
from pipelines.lib.returns.reader import read_return
from tests.intake import hostile as H

ROOT = Path(__file__).resolve().parents[2]

EXPECTED = {   # file -> (rule of the file-level rejection, words the message must contain)
    "stray_XFD1048576.xlsx": ("sheet_too_large", "XFD1048576"),
    "stray_CV100000.xlsx": ("sheet_too_large", "CV100000"),
    "stray_lying_dimension.xlsx": ("sheet_too_large", "XFD1048576"),
    "stray_no_positions.xlsx": ("sheet_too_large", "20,001 columns"),
    "zip_bomb.xlsx": ("file_too_large", "zip bomb"),
    "lying_zip_bomb.xlsx": ("file_unreadable", "damaged"),
    "truncated.xlsx": ("file_unreadable", "cut short"),
    "random.xlsx": ("file_unreadable", "not an Excel workbook"),
    "random.csv": ("encoding", "encoding"),
    "empty.csv": ("file_empty", "empty"),
    "empty.xlsx": ("file_empty", "empty"),
}


@pytest.fixture(scope="module")
def files():
    return H.corpus_files()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_file_is_refused_with_a_plain_message(files, name):
    rule, words = EXPECTED[name]
    r = read_return(files[name], name)
    assert r.table is None
    file_problems = [p for p in r.problems if p.severity == "file"]
    assert [p.rule for p in file_problems] == [rule]
    assert words in file_problems[0].message and file_problems[0].fix


def test_stray_cell_workbook_is_tiny_and_really_kills_an_unguarded_reader(tmp_path):
    """The attack is real: calamine asks for 512 GB and aborts the process (exit 134) on this
    ~2 KB file. Through the intake the same bytes are refused in a process with the same limit."""
    data = H.stray_cell("XFD1048576")
    assert len(data) < 2500
    f = tmp_path / "stray.xlsx"
    f.write_bytes(data)
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
    raw = subprocess.run([sys.executable, "-c", limit + "import fastexcel, sys; "
                          "fastexcel.read_excel(open(sys.argv[1], 'rb').read()).load_sheet(0, header_row=None)"
                          ".to_polars()", str(f)], capture_output=True, text=True, timeout=120)
    assert raw.returncode != 0 and "memory allocation" in raw.stderr
    guarded = subprocess.run([sys.executable, "-c", limit + "import sys; sys.path.insert(0, sys.argv[2]); "
                              "from pipelines.lib.returns.reader import read_return; "
                              "r = read_return(open(sys.argv[1], 'rb').read(), 'stray.xlsx'); "
                              "print(r.problems[0].rule)", str(f), str(ROOT)],
                             capture_output=True, text=True, timeout=120)
    assert guarded.returncode == 0, guarded.stderr[-500:]
    assert guarded.stdout.strip() == "sheet_too_large"


def test_small_bomb_of_valid_rows_reads_normally():
    """The same construction under the limit is an ordinary workbook: the guard is not a blanket ban."""
    r = read_return(H.zip_bomb(inflated_mb=2), "ok.xlsx")
    assert r.table is not None and r.table.height == 5
    assert r.table["__row"].to_list() == [2, 3, 4, 5, 6]


def test_limits_come_from_trust_config(tmp_path, monkeypatch):
    cfgdir = tmp_path / "cfg"
    cfgdir.mkdir()
    (cfgdir / "trust.yaml").write_text((ROOT / "config" / "trust.yaml").read_text().replace(
        "max_cells: 3000000", "max_cells: 50"), encoding="utf-8")
    monkeypatch.setenv("DESTINATIONS_CONFIG_DIR", str(cfgdir))
    assert guard.Limits.from_config().max_cells == 50
    rows = H.header_and_pupils(8)                   # 9 rows x 16 columns = 144 cells > 50
    r = read_return(H.workbook(H.sheet_rows(rows)), "r.xlsx")
    assert [p.rule for p in r.problems] == ["sheet_too_large"]


def test_csv_with_a_huge_header_line_is_refused():
    data = (",".join(f"c{i}" for i in range(5000)) + "\nupn,sex\n").encode()
    t = read_table(data, "wide.csv", {"upn": "upn"}, ["upn"])
    assert [p.rule for p in t.problems] == ["too_many_columns"]


def test_five_megabyte_cells_are_shortened_and_the_shortening_is_reported():
    from pipelines.lib.returns.validate import ValidationContext, validate_return

    r = read_return(H.big_cell_csv(), "big.csv")
    res = validate_return(r, ValidationContext("100001", "2024-25", "R1"), file="big.csv")
    by_rule = {p.rule: p for p in res.problems}
    short = by_rule["value_shortened"]
    assert short.row == 4 and short.column == "provider"
    assert "5,242,880 characters" in short.value and len(short.value) < 120
    bad_upn = by_rule["upn_format"]
    assert bad_upn.value.startswith("'=") and "shortened: 5,242,881 characters" in bad_upn.value
    stored = res.frame.filter(res.frame["source_row"] == 4)["provider"].to_list()
    assert stored == ["A" * 200]
    assert len(json.dumps([p.as_dict() for p in res.problems])) < 20_000


def test_problems_are_capped_per_rule_and_counted():
    from tests.returns.helpers import corpus
    from pipelines.lib.returns.validate import ValidationContext, validate_return

    C = corpus()
    rows = C.pupils(1000)
    for i, p in enumerate(rows):
        p["level"] = "A-level"          # an optional column: warning, row kept
    res = validate_return(read_return(C.to_csv(rows), "r.csv"), ValidationContext("100001", "2024-25", "R1"))
    level = [p for p in res.problems if p.rule == "invalid_value"]
    assert len(level) == 201 and res.warnings >= 1000
    assert "800 more row(s)" in level[-1].message
    assert res.rows_accepted == 1000


def test_one_parse_date_bounds_excel_serials():
    assert parse_date("45292") == date(2024, 1, 1)
    assert parse_date("99999") is None and parse_date("00001") is None
    assert parse_date("2024-01-02T10:00:00") == date(2024, 1, 2)
    assert parse_date("02/01/2024") == date(2024, 1, 2)
    assert parse_date("x" * 10_000) is None


def test_formula_guard_and_shortening_in_one_place():
    assert safe_value("=1+1") == "'=1+1"
    assert safe_value("@SUM(A1)") == "'@SUM(A1)"
    assert safe_value("-" + "1" * 100).startswith("'-") and "shortened: 101 characters" in safe_value("-" + "1" * 100)
    assert safe_value("Manchester College") == "Manchester College"
