"""Every file of the bad-return corpus gets the right outcome, the exact problem (rule, row, column),
the right exit code from `destinations submit`, and never changes data loaded before it."""
from __future__ import annotations

import json
import os
import shutil

import pytest
from html import escape as html_escape

from pipelines.cli import main
from tests.returns.helpers import corpus, last_audit, load, make_data_dir, rows, write

C = corpus()
CASES = C.cases()


def test_corpus_is_large_and_distinct():
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)
    built = [c.build() for c in CASES]
    assert len(set(built)) >= 30, "each case must be a distinct file"
    rules = {c.rule for c in CASES}
    for rule in ["file_empty", "file_unreadable", "encoding", "file_format", "no_header", "missing_column",
                 "duplicate_column", "no_rows", "too_many_invalid_rows", "unknown_academy", "upn_check_letter",
                 "upn_format", "upn_duplicate", "upn_other_academy", "missing_value", "invalid_value",
                 "unknown_destination_code", "pre16_code", "undecided_in_actual_round", "upn_temporary",
                 "formula_injection", "not_in_intended_rounds", "pupil_vanished", "unknown_column"]:
        assert rule in rules, rule


@pytest.fixture(scope="module")
def baseline_dir(tmp_path_factory):
    """Another academy's R1 and the academy's own good R1, submitted and loaded (built once, copied per test)."""
    root = tmp_path_factory.mktemp("baseline") / "data"
    old = os.environ.get("DESTINATIONS_DATA_DIR")
    os.environ["DESTINATIONS_DATA_DIR"] = str(root)
    try:
        p = make_data_dir(root)
        inbox = root.parent / "in"
        other = write(inbox / "other.csv", C.to_csv(C.pupils(estab=4002)))
        assert main(["submit", str(other), "--urn", C.OTHER_ACADEMY, "--year", C.YEAR, "--round", "R1"]) == 0
        own = write(inbox / "own_r1.csv", C.to_csv(C.pupils()))
        assert main(["submit", str(own), "--urn", C.ACADEMY, "--year", C.YEAR, "--round", "R1"]) == 0
        load(p, C.YEAR, "R1")
        assert len(rows(p)) == 2 * C.N_PUPILS
    finally:
        if old is None:
            os.environ.pop("DESTINATIONS_DATA_DIR", None)
        else:
            os.environ["DESTINATIONS_DATA_DIR"] = old
    return root


def _baseline(data, baseline_dir):
    shutil.rmtree(data.root)
    shutil.copytree(baseline_dir, data.root)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_file(case, data, tmp_path, capsys, baseline_dir):
    _baseline(data, baseline_dir)
    before = rows(data)
    capsys.readouterr()

    path = write(tmp_path / "upload" / case.name, case.build())
    code = main(["submit", str(path), "--urn", case.urn, "--year", C.YEAR, "--round", case.round_id])
    printed = capsys.readouterr().out

    expected_code = 1 if case.status == "rejected" else 0
    assert code == expected_code, printed
    event = last_audit(data)
    assert event["status"] == case.status
    assert event["original_name"] == case.name
    meta = json.loads((data.root / (event["stored_path"] + ".feedback.json")).read_text())
    match = [p for p in meta["problems"]
             if p["rule"] == case.rule and p["severity"] == case.severity
             and p["row"] == case.row and (case.column is None or p["column"] == case.column)]
    assert match, f"expected {case.rule} at row {case.row} column {case.column}; got " + json.dumps(
        [(p["rule"], p["severity"], p["row"], p["column"]) for p in meta["problems"]])
    # one failure per file: no other error-level problem than the expected one
    other_errors = [p for p in meta["problems"] if p["severity"] in ("file", "error") and p["rule"] != case.rule
                    and p["rule"] != "too_many_invalid_rows"]
    if case.rule != "too_many_invalid_rows":
        assert not other_errors, other_errors
    # the academy sees the problem (and its row) in what submit prints
    assert match[0]["message"][:40] in printed
    if case.row is not None:
        assert f"row {case.row}" in printed
    # the feedback report exists and names the problem
    html = (data.root / meta["feedback_path"]).read_text()
    assert html_escape(match[0]["fix"]) in html

    if case.status == "rejected":
        assert event["stored_path"].startswith("quarantine/")
        load(data, C.YEAR, case.round_id)
        assert rows(data) == before, "a rejected file must not change loaded data"
    else:
        assert event["stored_path"].startswith("raw/returns/")
        load(data, C.YEAR, case.round_id)
        after = rows(data)
        untouched = [r for r in before if not (r[0] == case.urn and r[2] == case.round_id)]
        assert [r for r in after if not (r[0] == case.urn and r[2] == case.round_id)] == untouched
        mine = [r for r in after if r[0] == case.urn and r[2] == case.round_id]
        assert len(mine) == meta["rows_accepted"]
        expected_rows = C.N_PUPILS - (1 if case.severity == "error" else 0) - (1 if case.rule == "pupil_vanished" else 0)
        assert len(mine) == expected_rows
        if case.excluded_upn:
            assert case.excluded_upn not in {r[3] for r in mine}
        if case.rule == "formula_injection":
            assert all(not str(v).startswith(("=", "@", "+", "-")) for r in mine for v in (r[14], r[15]) if v)
