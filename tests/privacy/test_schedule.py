"""The retention job and its weekly schedule, run by Dagster on a real (small) data directory."""
from __future__ import annotations

import dagster as dg

from pipelines.definitions import defs


def test_weekly_schedule_targets_the_retention_job_and_is_off_by_default():
    d = defs()
    sched = next(s for s in d.schedules if s.name == "weekly_retention")
    assert sched.job_name == "retention"
    assert sched.cron_schedule == "0 3 * * 0"
    assert sched.default_status == dg.DefaultScheduleStatus.STOPPED
    with dg.instance_for_test() as instance:
        ctx = dg.build_schedule_context(instance=instance)
        req = sched.evaluate_tick(ctx).run_requests
        assert len(req) == 1


def test_retention_job_strips_quarantine_and_records_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(tmp_path))
    q = tmp_path / "quarantine" / "100001" / "2025-26" / "R1" / "bad.csv"
    q.parent.mkdir(parents=True)
    q.write_text("upn,year_group,sex,disadvantaged,sen_provision,destination_code,Forename\n"
                 "A123,11,F,N,N,FE,Hermione\n")
    with dg.instance_for_test() as instance:  # load the defs under a live instance (defs-state storage)
        job = defs().resolve_job_def("retention")
        res = job.execute_in_process(instance=instance)
    assert res.success
    out = res.output_for_node("apply_retention")
    assert out["quarantine_stripped"] == 1 and out["pupils_pseudonymised"] == 0
    assert out["rebuilt"] is None  # nothing pupil-level changed: no rebuild needed
    assert "Hermione" not in q.read_text() and "Forename" not in q.read_text()
    from pipelines.lib.privacy import audit
    assert [e["event"] for e in audit.read(tmp_path)] == ["retention_run"]
