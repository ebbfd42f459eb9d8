"""A run of a killed `destinations run` process is marked failed, so nothing waits on it."""
import shutil
import subprocess
import sys

import dagster as dg

from pipelines.config import DBT_PROJECT_DIR
from pipelines.runner import RUN_TAG_PID, reclaim_dead_runs


def test_runs_of_dead_processes_are_reclaimed(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DBT_PROJECT_DIR.parent / "config" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()                                        # a pid that no longer runs
    with dg.DagsterInstance.get() as instance:
        def started(pid):
            run = instance.create_run_for_job(job_def=dg.GraphDefinition(name="g", node_defs=[]).to_job(),
                                              tags={RUN_TAG_PID: str(pid)})
            instance.handle_new_event(dg.EventLogEntry(
                error_info=None, level="debug", user_message="", run_id=run.run_id, timestamp=0.0,
                dagster_event=dg.DagsterEvent(event_type_value="PIPELINE_START", job_name="g")))
            return run.run_id
        gone, alive = started(dead.pid), started(1)
        assert instance.get_run_by_id(gone).status == dg.DagsterRunStatus.STARTED
        assert reclaim_dead_runs(instance) == [gone]
        assert instance.get_run_by_id(gone).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive).status == dg.DagsterRunStatus.STARTED


def test_instance_config_has_no_pool_a_dead_run_could_hold():
    import yaml
    conf = yaml.safe_load((DBT_PROJECT_DIR.parent / "config" / "dagster.yaml").read_text())
    assert "pools" not in (conf.get("concurrency") or {})
    assert conf["run_monitoring"]["enabled"] is True
