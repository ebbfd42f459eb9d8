"""The Dagster side of reminders and public outputs: assets, the daily reminder schedule, and the
returns sensor and deadline schedules on by default (so `make serve` chases returns)."""
from __future__ import annotations

import dagster as dg
from tests.notify.served import served_return_status


def test_assets_schedules_and_default_status():
    from pipelines.definitions import defs

    d = defs()
    keys = {k.to_user_string() for k in d.resolve_asset_graph().get_all_asset_keys()}
    assert {"public_statements", "governor_packs", "return_reminders", "public_destination_statement",
            "similar_schools", "similar_schools_comparison"} <= keys
    reminders = d.resolve_schedule_def("return_reminders_daily")
    assert reminders.default_status == dg.DefaultScheduleStatus.RUNNING
    assert reminders.cron_schedule == "30 7 * * *"
    assert d.resolve_sensor_def("returns_landing_sensor").default_status == dg.DefaultSensorStatus.RUNNING
    for rid in ("R1", "R2", "R3"):
        assert d.resolve_schedule_def(f"returns_deadline_{rid}").default_status == dg.DefaultScheduleStatus.RUNNING
    # the build job (what `destinations run` executes) writes the public pages, packs and reminders
    build = d.resolve_job_def("build_warehouse")
    names = {n.name for n in build.graph.node_defs}
    assert {"documents", "return_reminders"} <= names                  # the packs and statements: one step
    docs = d.resolve_assets_def("governor_packs")
    assert docs.node_def.name == "documents"
    assert {k.to_user_string() for k in docs.keys} == {"trustee_report", "governor_packs", "public_statements"}


def test_return_reminders_asset_writes_the_outbox(tmp_path, monkeypatch):
    import polars as pl

    from pipelines.defs.notify import return_reminders
    from pipelines.defs.resources import WarehouseResource

    for k in [k for k in __import__("os").environ if k.startswith("DESTINATIONS_SMTP")]:
        monkeypatch.delenv(k)
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "academies.csv").write_text(
        "urn,name,la_code,phase,has_sixth_form,joined_trust,careers_leader_email\n"
        "100001,Oak Academy,352,secondary,Y,2015-09-01,careers@oak.example.org\n")
    serving = tmp_path / "warehouse" / "serving"
    serving.mkdir(parents=True)
    import datetime as dt
    served_return_status([{"academy_urn": "100001", "academy_name": "Oak Academy", "leaving_year": "2025-26",
                   "round": "R3", "round_label": "Actual", "due_date": dt.date.today() - dt.timedelta(days=3),
                   "is_submitted": False, "return_status": "missing", "latest_submission_status": None,
                   "last_submitted_at": None, "feedback_path": None}]).write_parquet(serving / "return_status.parquet")
    res = dg.materialize([return_reminders], resources={"warehouse": WarehouseResource(data_dir=str(tmp_path))},
                         selection=[return_reminders])
    assert res.success
    md = res.asset_materializations_for_node("return_reminders")[0].metadata
    assert md["delivered"].value == 2 and md["planned"].value == 2  # Oak + digest
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2
