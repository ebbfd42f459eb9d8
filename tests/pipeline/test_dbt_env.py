"""dbt is pointed at a data directory in one place (config.dbt_env): the runner and the dbt
asset's resource set the same environment, and the project's own manifest never moves."""
import os
from pathlib import Path

KEYS = ("DESTINATIONS_DATA_DIR", "DESTINATIONS_WAREHOUSE_PATH", "DESTINATIONS_DBT_WORKDIR", "DBT_LOG_PATH",
        "DBT_TARGET_PATH", "DESTINATIONS_DISCLOSURE_CACHE")


def test_runner_and_dbt_asset_point_dbt_at_the_same_data_directory(tmp_path, monkeypatch):
    from pipelines.defs.resources import WarehouseResource
    from pipelines.runner import run_pipeline
    for k in KEYS:
        monkeypatch.setenv(k, "unset-by-test")          # restored after the test
    lines: list[str] = []
    assert run_pipeline(tmp_path, echo=lines.append) == 1 and "No raw/ folder" in lines[0]
    by_runner = {k: os.environ[k] for k in KEYS}
    for k in KEYS:
        monkeypatch.setenv(k, "unset-by-test")
    WarehouseResource(data_dir=str(tmp_path)).dbt_env()
    assert {k: os.environ[k] for k in KEYS} == by_runner
    root = tmp_path.resolve()
    assert by_runner == {"DESTINATIONS_DATA_DIR": str(root),
                         "DESTINATIONS_WAREHOUSE_PATH": "warehouse.duckdb",
                         "DESTINATIONS_DBT_WORKDIR": str(root / "warehouse"),
                         "DBT_LOG_PATH": str(root / "warehouse" / "dbt" / "logs"),
                         "DBT_TARGET_PATH": str(root / "warehouse" / "dbt" / "target"),
                         "DESTINATIONS_DISCLOSURE_CACHE": str(root / "warehouse" / "disclosure-cache.sqlite")}


def test_manifest_parse_ignores_a_data_directorys_dbt_target(tmp_path, monkeypatch):
    """After a run set DBT_TARGET_PATH, a re-parse (a model changed) still writes the project's
    manifest, which Dagster and the serving contract read."""
    from pipelines.lib.dbt_manifest import MANIFEST, ensure_manifest
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    before = MANIFEST.stat().st_mtime_ns if MANIFEST.exists() else 0
    assert ensure_manifest(force=True) == MANIFEST
    assert MANIFEST.stat().st_mtime_ns > before
    assert not (tmp_path / "target" / "manifest.json").exists()


def test_a_new_data_directorys_first_build_starts_from_the_projects_parse(tmp_path, monkeypatch):
    """The project's re-parse (made, whoever asks for it, with the pipeline's profile, which is the
    same for every data directory: config.dbt_env) seeds each data directory's dbt state, so its first build does not
    parse the whole project again; a parse made for another profile (an absolute warehouse path,
    as by hand) is not copied (dbt would parse everything again for it)."""
    import subprocess
    import sys

    from pipelines.config import DBT_PROJECT_DIR, dbt_env, paths
    from pipelines.defs.transform.dbt import seed_partial_parse
    from pipelines.lib.dbt_manifest import MANIFEST, ensure_manifest
    for k in KEYS:
        monkeypatch.setenv(k, "unset-by-test")          # restored after the test
    monkeypatch.delenv("DESTINATIONS_WAREHOUSE_PATH")    # parsed outside a run (the dashboard, `make test`)
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    ensure_manifest(force=True)
    for trust in ("one", "two"):
        dbt_env(paths(tmp_path / trust))
        target = tmp_path / trust / "warehouse" / "dbt" / "target"
        target.mkdir(parents=True)
        assert seed_partial_parse(target) and (target / "partial_parse.msgpack").exists()
        assert not seed_partial_parse(target)            # already as new as the project's
        dbt = subprocess.run([sys.executable, "-m", "pipelines.lib.dbt_cli", "ls", "--select", "destination_measures",
                              "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
                             cwd=DBT_PROJECT_DIR, capture_output=True, text=True, env={**os.environ, "DO_NOT_TRACK": "1"})
        assert dbt.returncode == 0, dbt.stdout + dbt.stderr
        assert "destination_measures" in dbt.stdout
        assert "Unable to do partial parsing" not in dbt.stdout + dbt.stderr, trust

    other = tmp_path / "other" / "target"
    other.mkdir(parents=True)
    monkeypatch.setenv("DESTINATIONS_WAREHOUSE_PATH", str(tmp_path / "other" / "warehouse.duckdb"))
    assert not seed_partial_parse(other) and not (other / "partial_parse.msgpack").exists()
    assert MANIFEST.exists()


def test_the_manifest_is_stale_after_a_model_is_copied_in_with_an_old_time_or_deleted(tmp_path):
    """The freshness key moves when a model file arrives with an old modification time (cp -p)
    and when a model is deleted: either way Dagster and the serving contract would otherwise read
    a manifest that does not match the models."""
    import os
    import shutil
    import time

    from pipelines.config import DBT_PROJECT_DIR
    from pipelines.lib.dbt_manifest import _newest_source_mtime
    proj = tmp_path / "proj"
    (proj / "models" / "marts").mkdir(parents=True)
    shutil.copy2(DBT_PROJECT_DIR / "dbt_project.yml", proj / "dbt_project.yml")
    (proj / "models" / "marts" / "a.sql").write_text("select 1 as x")
    (proj / "models" / "marts" / "b.sql").write_text("select 2 as x")
    old = time.time() - 3600
    for p in [proj / "dbt_project.yml", proj / "models" / "marts" / "a.sql", proj / "models" / "marts" / "b.sql"]:
        os.utime(p, (old, old))
    t0 = _newest_source_mtime(proj)
    time.sleep(0.05)
    # a corrected model copied in with its old modification time (cp -p)
    new = tmp_path / "a.sql"
    new.write_text("select 3 as x")
    os.utime(new, (old, old))
    shutil.copy2(new, proj / "models" / "marts" / "a.sql")
    assert os.stat(proj / "models" / "marts" / "a.sql").st_mtime == old
    t1 = _newest_source_mtime(proj)
    assert t1 > t0
    time.sleep(0.05)
    (proj / "models" / "marts" / "b.sql").unlink()   # a model removed
    assert _newest_source_mtime(proj) > t1
