"""The destination_returns loader and asset: landing zone -> warehouse without losing anything."""
from __future__ import annotations

import os
from datetime import date

import dagster as dg
import polars as pl

from pipelines.defs.ingest.returns import destination_returns, missing_returns
from pipelines.defs.quality.returns_checks import destination_returns_expectations, destination_returns_rules
from pipelines.defs.resources import WarehouseResource
from pipelines.lib.returns.missing import key_stages, missing_returns as compute_missing
from pipelines.lib.returns.context import load_register
from pipelines.lib.returns.submit import submit_file
import pipelines.config as cfg
from tests.returns.helpers import corpus, load, query, rows, write

C = corpus()
Y = C.YEAR


def _land(data, urn, rnd, name, content, mtime):
    f = write(data.returns / urn / Y / rnd / name, content)
    os.utime(f, (mtime, mtime))
    return f


def test_newest_accepted_file_is_current_older_kept_as_superseded(data):
    v1 = _land(data, "100001", "R1", "v1.csv", C.to_csv(C.pupils()), 1_730_000_000)
    v2 = _land(data, "100001", "R1", "v2.csv", C.to_csv(C.pupils()[:6]), 1_731_000_000)
    res = load(data, Y, "R1")
    assert res.rows_loaded == 6
    got = query(data, "select file_path, status, is_current from raw.return_submissions order by submitted_at")
    assert got == [("raw/returns/100001/2024-25/R1/v1.csv", "superseded", False),
                   ("raw/returns/100001/2024-25/R1/v2.csv", "accepted", True)]
    assert v1.exists() and v2.exists()
    assert {r[-3] for r in rows(data)} == {"raw/returns/100001/2024-25/R1/v2.csv"}


def test_rejected_newer_landed_file_keeps_earlier_data_and_moves_to_quarantine(data):
    _land(data, "100001", "R1", "good.csv", C.to_csv(C.pupils()), 1_730_000_000)
    load(data, Y, "R1")
    before = rows(data)
    assert len(before) == C.N_PUPILS
    bad = _land(data, "100001", "R1", "broken.csv", C.to_csv(C.pupils(), [c for c in C.COLUMNS if c != "sex"]),
                1_731_000_000)
    res = load(data, Y, "R1")
    assert rows(data) == before
    assert not bad.exists()
    moved = data.quarantine / "100001" / Y / "R1" / "broken.csv"
    assert moved.exists()
    assert (moved.parent / "broken.csv.feedback.html").exists()
    assert "missing_column" in (moved.parent / "broken.csv.feedback.json").read_text()
    assert res.quarantined == ["quarantine/100001/2024-25/R1/broken.csv"]
    statuses = dict(query(data, "select original_name, status from raw.return_submissions"))
    assert statuses == {"good.csv": "accepted", "broken.csv": "rejected"}
    probs = query(data, "select rule, row_number, column_name from raw.return_problems where severity='file'")
    assert probs == [("missing_column", 1, "sex")]
    events = [line for line in data.audit_log.read_text().splitlines() if '"quarantined"' in line]
    assert len(events) == 1


def test_rerun_with_unchanged_files_changes_nothing(data):
    _land(data, "100001", "R1", "good.csv", C.to_csv(C.pupils()), 1_730_000_000)
    first = load(data, Y, "R1")
    snap = (rows(data), query(data, "select * from raw.return_submissions order by all"),
            query(data, "select * from raw.return_loads"))
    audit = data.audit_log.read_text()
    feedback = data.returns / "100001" / Y / "R1" / "good.csv.feedback.json"
    mtime = feedback.stat().st_mtime_ns
    again = load(data, Y, "R1")
    assert again.unchanged and not first.unchanged
    assert (rows(data), query(data, "select * from raw.return_submissions order by all"),
            query(data, "select * from raw.return_loads")) == snap
    assert data.audit_log.read_text() == audit
    assert feedback.stat().st_mtime_ns == mtime


def test_later_academy_returning_the_same_pupil_gets_the_error(data):
    shared = C.upn(0)
    other = C.pupils(estab=4002)
    other[3]["upn"] = shared
    _land(data, "100001", "R1", "first.csv", C.to_csv(C.pupils()), 1_730_000_000)
    _land(data, "100002", "R1", "second.csv", C.to_csv(other), 1_731_000_000)
    _land(data, "100003", "R1", "third.csv", C.to_csv(C.pupils(estab=4003)), 1_732_000_000)
    res = load(data, Y, "R1")
    # the two files sharing a pupil are checked one by one in submission order, the third with the batch
    assert res.metadata()["files_checked"] == 3 and res.metadata()["files_checked_one_by_one"] == 2
    owners = query(data, "select academy_urn from raw.destination_returns where upn = ?", [shared])
    assert owners == [("100001",)]
    prob = query(data, "select academy_urn, rule, row_number from raw.return_problems where rule='upn_other_academy'")
    assert prob == [("100002", "upn_other_academy", 5)]


def test_submit_then_pipeline_agree(data, tmp_path):
    f = write(tmp_path / "r.csv", C.to_csv([dict(r, sex="X") if i == 2 else r for i, r in enumerate(C.pupils())]))
    out = submit_file(f, academy_urn="100001", leaving_year=Y, round_id="R1", submitted_by="test")
    assert out.status == "accepted_with_warnings" and out.exit_code == 0 and out.rows_accepted == 7
    res = load(data, Y, "R1")
    assert res.rows_loaded == out.rows_accepted
    sub = query(data, "select submitted_by, status, rows_accepted, is_current from raw.return_submissions")
    assert sub == [("test", "accepted_with_warnings", 7, True)]


def test_identical_reupload_changes_nothing(data, tmp_path):
    f = write(tmp_path / "r.csv", C.to_csv(C.pupils()))
    first = submit_file(f, academy_urn="100001", leaving_year=Y, round_id="R1")
    load(data, Y, "R1")
    listing = sorted(p.name for p in (data.returns / "100001" / Y / "R1").iterdir())
    snap = rows(data)
    second = submit_file(f, academy_urn="100001", leaving_year=Y, round_id="R1", original_name="again.csv")
    assert second.status == "unchanged" and second.exit_code == 0
    assert second.stored_path == first.stored_path
    assert sorted(p.name for p in (data.returns / "100001" / Y / "R1").iterdir()) == listing
    load(data, Y, "R1")
    assert rows(data) == snap
    assert query(data, "select original_name, status, is_current from raw.return_submissions order by submitted_at") == [
        ("r.csv", "accepted", True), ("again.csv", "unchanged", False)]
    assert load(data, Y, "R1").unchanged


def test_good_reupload_updates_and_supersedes(data, tmp_path):
    a = write(tmp_path / "a.csv", C.to_csv(C.pupils()))
    submit_file(a, academy_urn="100001", leaving_year=Y, round_id="R1")
    load(data, Y, "R1")
    changed = C.pupils()
    changed[0]["destination_code"] = "310"
    b = write(tmp_path / "b.csv", C.to_csv(changed))
    out = submit_file(b, academy_urn="100001", leaving_year=Y, round_id="R1")
    assert out.status == "accepted"
    load(data, Y, "R1")
    assert query(data, "select destination_code from raw.destination_returns where upn = ?", [C.upn(0)]) == [("310",)]
    assert query(data, "select count(*) from raw.return_submissions where status = 'superseded'") == [(1,)]


def test_changes_since_previous_round_in_feedback(data, tmp_path):
    submit_file(write(tmp_path / "r1.csv", C.to_csv(C.pupils())), academy_urn="100001", leaving_year=Y, round_id="R1")
    load(data, Y, "R1")
    r2 = C.pupils()[:-1]
    r2[0]["destination_code"] = "330"
    r2.append(dict(C.pupils(9)[8]))
    out = submit_file(write(tmp_path / "r2.csv", C.to_csv(r2)), academy_urn="100001", leaving_year=Y, round_id="R2")
    assert "since R1: 1 pupil(s) added, 1 no longer returned, 1 changed destination" in out.summary_text
    html = out.report_path.read_text()
    assert "Changes since the previous round" in html and C.upn(8) in html
    vanished = [p for p in out.problems if p.rule == "pupil_vanished"]
    assert [p.value for p in vanished] == [C.upn(7)]


def test_asset_and_blocking_checks_materialise(data):
    _land(data, "100001", "R1", "good.csv", C.to_csv(C.pupils()), 1_730_000_000)
    _land(data, "100002", "R1", "empty.csv", b"", 1_730_000_100)
    key = dg.MultiPartitionKey({"leaving_year": Y, "round": "R1"})
    res = dg.materialize([destination_returns, destination_returns_expectations, destination_returns_rules],
                         partition_key=key, resources={"warehouse": WarehouseResource(data_dir=str(data.root))})
    assert res.success
    mat = res.asset_materializations_for_node("destination_returns")[0]
    assert mat.metadata["rows_loaded"].value == C.N_PUPILS
    assert mat.metadata["quarantined"].value == 1
    evals = {e.check_name: e for e in res.get_asset_check_evaluations()}
    assert evals["destination_returns_expectations"].passed
    assert evals["destination_returns_rules"].passed
    assert evals["destination_returns_expectations"].metadata["rows"].value == C.N_PUPILS


def test_missing_returns_asset(data, tmp_path):
    submit_file(write(tmp_path / "r1.csv", C.to_csv(C.pupils())), academy_urn="100001", leaving_year=Y, round_id="R1")
    load(data, Y, "R1")
    res = dg.materialize([missing_returns], resources={"warehouse": WarehouseResource(data_dir=str(data.root))})
    assert res.success
    got = query(data, "select academy_urn, round from raw.missing_returns where leaving_year = ? order by all", [Y])
    # R1 2024-25 is past due; 100001 returned it; 100004 is a primary (no leavers)
    assert ("100002", "R1") in got and ("100003", "R1") in got
    assert ("100001", "R1") not in got
    assert not any(u == "100004" for u, _ in got)


def test_missing_returns_function():
    reg = load_register_from_text(C.register_csv())
    rounds = cfg.rounds()
    subs = [{"academy_urn": "100001", "leaving_year": "2024-25", "round": "R1", "status": "accepted",
             "submitted_at": "2024-12-01"},
            {"academy_urn": "100002", "leaving_year": "2024-25", "round": "R1", "status": "rejected",
             "submitted_at": "2024-12-10"}]
    df = compute_missing(reg, subs, rounds, ["2024-25"], today=date(2025, 1, 10))
    assert df.select("academy_urn", "round", "last_status", "days_overdue").rows() == [
        ("100002", "R1", "rejected", 26), ("100003", "R1", None, 26)]
    # joined after the due date: not expected
    reg["100003"]["joined_trust"] = "2025-01-01"
    df = compute_missing(reg, subs, rounds, ["2024-25"], today=date(2025, 1, 10))
    assert df["academy_urn"].to_list() == ["100002"]
    assert key_stages("secondary", "Y") == "KS4 and 16-18"
    assert key_stages("16-19", "N") == "16-18"
    assert key_stages("primary", "N") is None


def load_register_from_text(text: str) -> dict:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "academies.csv"
        p.write_text(text)
        return load_register(p)


def test_gx_suite_catches_bad_loaded_rows():
    from pipelines.lib.returns.gx_suite import load_payload, validate_frame
    from pipelines.lib.returns.ingest import RETURNS_SCHEMA

    payload = load_payload()
    codes = next(e for e in payload["expectations"] if e["kwargs"].get("column") == "destination_code"
                 and e["type"] == "expect_column_values_to_be_in_set")
    assert set(codes["kwargs"]["value_set"]) == set(cfg.destination_codes())
    good = [{"academy_urn": "100001", "leaving_year": Y, "round": "R1", "upn": C.upn(i), "upn_is_temporary": False,
             "year_group": 11, "sex": "F", "disadvantaged": True, "sen_provision": "N", "destination_code": "230",
             "source_file": "raw/returns/x.csv", "file_sha256": "ab", "source_row": i + 2} for i in range(5)]
    frame = pl.DataFrame(good).with_columns(
        *[pl.lit(None).cast(t).alias(c) for c, t in RETURNS_SCHEMA.items() if c not in good[0]]
    ).select(list(RETURNS_SCHEMA)).cast(RETURNS_SCHEMA)
    ok = validate_frame(frame.to_pandas())
    assert ok.success and ok.evaluated == len(payload["expectations"])
    bad = frame.with_columns(pl.when(pl.col("source_row") == 3).then(pl.lit("X")).otherwise(pl.col("sex")).alias("sex"),
                             pl.when(pl.col("source_row") == 4).then(pl.lit(C.upn(0))).otherwise(pl.col("upn")).alias("upn"))
    res = validate_frame(bad.to_pandas())
    assert not res.success
    failed = {(f.expectation, f.column or "") for f in res.failures}
    assert ("expect_column_values_to_be_in_set", "sex") in failed
    assert any(f.rule == "upn_other_academy" for f in res.failures)


def test_loaded_rule_failures():
    from pipelines.lib.returns.rules import loaded_rule_failures

    base = {"academy_urn": "100001", "leaving_year": Y, "upn_is_temporary": False, "source_file": "f"}
    rows_ = pl.DataFrame([dict(base, round="R3", upn=C.upn(1), destination_code="UND"),
                          dict(base, round="R1", upn="B" + C.upn(2)[1:] if C.upn(2)[0] != "B" else "C" + C.upn(2)[1:],
                               destination_code="230"),
                          dict(base, round="R1", upn=C.upn(3), destination_code="UND")])
    rules = {f["rule"]: f["count"] for f in loaded_rule_failures(rows_)}
    assert rules == {"undecided_in_actual_round": 1, "upn_check_letter": 1}


def test_submit_while_pipeline_holds_the_warehouse_still_files_and_says_so(data, tmp_path):
    import duckdb

    submit_file(write(tmp_path / "r1.csv", C.to_csv(C.pupils())), academy_urn="100001", leaving_year=Y, round_id="R1")
    load(data, Y, "R1")
    writer = duckdb.connect(str(data.warehouse))  # the pipeline's write lock
    try:
        out = submit_file(write(tmp_path / "r2.csv", C.to_csv(C.pupils(estab=4002))), academy_urn="100002",
                          leaving_year=Y, round_id="R1")
    finally:
        writer.close()
    assert out.status == "accepted" and out.exit_code == 0
    assert "checks against other academies and earlier rounds will run when the pipeline loads" in out.summary_text
    assert out.stored_path.exists()
    assert load(data, Y, "R1").rows_loaded == 2 * C.N_PUPILS


def test_vectorised_suite_agrees_with_great_expectations():
    """The run checks loaded rows with the suite evaluated in polars; GX itself is the oracle here:
    every expectation fails on the same rows, with the same counts, good frame and bad alike."""
    from pipelines.lib.returns.gx_suite import evaluate_frame, load_payload, validate_frame
    from pipelines.lib.returns.ingest import RETURNS_SCHEMA

    payload = load_payload()
    good = [{"academy_urn": "100001", "leaving_year": Y, "round": "R1", "upn": C.upn(i), "upn_is_temporary": False,
             "year_group": 11, "sex": "F", "disadvantaged": True, "sen_provision": "N", "destination_code": "230",
             "level": "3", "route": "Digital", "provider": "Ash College", "provider_id": "10001",
             "source_file": "raw/returns/x.csv", "file_sha256": "ab", "source_row": i + 2} for i in range(8)]
    frame = pl.DataFrame(good).with_columns(
        *[pl.lit(None).cast(t).alias(c) for c, t in RETURNS_SCHEMA.items() if c not in good[0]]
    ).select(list(RETURNS_SCHEMA)).cast(RETURNS_SCHEMA)
    row = pl.col("source_row")
    bad = frame.with_columns(
        pl.when(row == 2).then(pl.lit("X")).otherwise(pl.col("sex")).alias("sex"),
        pl.when(row == 3).then(pl.lit(C.upn(0))).otherwise(pl.col("upn")).alias("upn"),            # duplicate
        pl.when(row == 4).then(pl.lit(None)).otherwise(pl.col("destination_code")).alias("destination_code"),
        pl.when(row == 5).then(pl.lit(10)).otherwise(pl.col("year_group")).cast(pl.Int32).alias("year_group"),
        pl.when(row == 6).then(pl.lit("10001X")).otherwise(pl.col("academy_urn")).alias("academy_urn"),
        pl.when(row == 7).then(pl.lit("=cmd()")).otherwise(pl.col("provider")).alias("provider"),
        pl.when(row.is_in([7, 8])).then(pl.lit("9")).otherwise(pl.col("level")).alias("level"),
        pl.when(row == 8).then(pl.lit(2)).otherwise(row).cast(pl.Int32).alias("source_row"))     # duplicate
    for f in (frame, bad):
        fast, slow = evaluate_frame(f, payload), validate_frame(f.to_pandas(), payload)
        assert fast.evaluated == slow.evaluated == len(payload["expectations"])
        assert fast.success == slow.success
        key = lambda r: sorted((x.expectation, x.column or "", x.unexpected_count) for x in r.failures)  # noqa: E731
        assert key(fast) == key(slow)
    assert len(evaluate_frame(bad, payload).failures) == 8
    no_col = evaluate_frame(frame.drop("route"), payload)
    assert not no_col.success and no_col.failures[0].expectation == "expect_table_columns_to_match_set"
