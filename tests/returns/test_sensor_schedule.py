"""The landing-zone sensor (content-hash cursor, no flood on the first tick, bad paths reported)
and the round-deadline schedules, with Dagster's test contexts."""
from __future__ import annotations

import json
import os
from datetime import datetime

import dagster as dg
from croniter import croniter

import pipelines.config as cfg
from pipelines.defs.ingest.returns import (deadline_cron, defs, leaving_year_due_before,
                                           returns_landing_sensor)
from tests.returns.helpers import corpus, write

C = corpus()


def _tick(cursor):
    ctx = dg.build_sensor_context(cursor=cursor, instance=dg.DagsterInstance.ephemeral())
    return returns_landing_sensor(ctx)


def _land(data, urn, year, rnd, name, content):
    return write(data.returns / urn / year / rnd / name, content)


def test_first_tick_records_state_without_runs_then_new_file_triggers_one_run(data):
    _land(data, "100001", "2024-25", "R1", "a.csv", C.to_csv(C.pupils()))
    _land(data, "100002", "2024-25", "R2", "b.csv", C.to_csv(C.pupils(estab=4002)))
    first = _tick(None)
    assert not first.run_requests
    assert "first tick" in first.skip_reason.skip_message
    state = json.loads(first.cursor)
    assert set(state["files"]) == {"100001/2024-25/R1/a.csv", "100002/2024-25/R2/b.csv"}

    again = _tick(first.cursor)
    assert not again.run_requests

    _land(data, "100003", "2024-25", "R3", "c.xlsx", C.to_xlsx(C.pupils(estab=4003)))
    third = _tick(again.cursor)
    assert len(third.run_requests) == 1
    req = third.run_requests[0]
    assert req.partition_key == dg.MultiPartitionKey({"leaving_year": "2024-25", "round": "R3"})
    assert req.run_key.startswith("returns:2024-25:R3:")


def test_content_hash_not_mtime_decides(data):
    f = _land(data, "100001", "2024-25", "R1", "a.csv", C.to_csv(C.pupils()))
    cur = _tick(None).cursor
    os.utime(f, (1_700_000_000, 1_700_000_000))   # touched, same bytes
    res = _tick(cur)
    assert not res.run_requests
    f.write_bytes(C.to_csv(C.pupils()[:5]))        # new content
    res2 = _tick(res.cursor)
    assert [r.partition_key for r in res2.run_requests] == [
        dg.MultiPartitionKey({"leaving_year": "2024-25", "round": "R1"})]


def test_feedback_sidecars_do_not_trigger_runs(data):
    f = _land(data, "100001", "2024-25", "R1", "a.csv", C.to_csv(C.pupils()))
    cur = _tick(None).cursor
    write(f.with_name(f.name + ".feedback.html"), b"<html></html>")
    write(f.with_name(f.name + ".feedback.json"), b"{}")
    assert not _tick(cur).run_requests


def test_unparseable_paths_are_reported_not_crashing(data):
    cur = _tick(None).cursor
    _land(data, "12345", "2024-25", "R1", "short_urn.csv", b"x")
    _land(data, "100001", "2024", "R1", "bad_year.csv", b"x")
    _land(data, "100001", "2024-25", "R9", "bad_round.csv", b"x")
    write(data.returns / "100001" / "loose.csv", b"x")
    res = _tick(cur)
    assert not res.run_requests
    msg = res.skip_reason.skip_message
    assert "4 file(s) in unusable paths" in msg
    assert "'12345' is not a 6-digit URN" in msg
    assert "'2024' is not a leaving year" in msg


def test_one_run_per_changed_partition(data):
    cur = _tick(None).cursor
    _land(data, "100001", "2024-25", "R1", "a.csv", C.to_csv(C.pupils()))
    _land(data, "100002", "2024-25", "R1", "b.csv", C.to_csv(C.pupils(estab=4002)))
    _land(data, "100002", "2025-26", "R1", "c.csv", C.to_csv(C.pupils(estab=4003)))
    res = _tick(cur)
    keys = sorted(str(r.partition_key) for r in res.run_requests)
    assert keys == ["2024-25|R1", "2025-26|R1"]
    assert len({r.run_key for r in res.run_requests}) == 2


def test_deadline_crons_are_a_few_days_after_each_due_date():
    by_id = {r.id: r for r in cfg.rounds()}
    assert deadline_cron(by_id["R1"]) == "0 7 18 12 *"
    assert deadline_cron(by_id["R2"]) == "0 7 3 6 *"
    assert deadline_cron(by_id["R3"]) == "0 7 3 12 *"
    nxt = croniter(deadline_cron(by_id["R1"]), datetime(2024, 12, 15, 12, 0)).get_next(datetime)
    assert nxt == datetime(2024, 12, 18, 7, 0)


def test_schedules_request_the_missing_returns_refresh_for_the_right_year():
    d = defs()
    scheds = {s.name: s for s in d.schedules}
    assert set(scheds) == {f"returns_deadline_{r}" for r in cfg.round_ids()}
    cases = {"R1": (datetime(2024, 12, 18, 7), "2024-25"),
             "R2": (datetime(2025, 6, 3, 7), "2024-25"),
             "R3": (datetime(2025, 12, 3, 7), "2024-25")}
    for rid, (when, year) in cases.items():
        s = scheds[f"returns_deadline_{rid}"]
        ctx = dg.build_schedule_context(scheduled_execution_time=when)
        data = s.evaluate_tick(ctx)
        assert len(data.run_requests) == 1
        req = data.run_requests[0]
        assert req.tags["destinations/leaving_year"] == year
        assert req.tags["destinations/round"] == rid
        assert s.job_name == "missing_returns_refresh"


def test_leaving_year_due_before():
    r3 = next(r for r in cfg.rounds() if r.id == "R3")
    assert leaving_year_due_before(r3, datetime(2025, 12, 1).date()) == "2024-25"
    assert leaving_year_due_before(r3, datetime(2025, 11, 1).date()) == "2023-24"
