"""dbt is pointed at a data directory in one place (config.dbt_env): the runner and the dbt
asset's resource set the same environment, and the project's own manifest never moves."""
import os

KEYS = ("DESTINATIONS_DATA_DIR", "DESTINATIONS_WAREHOUSE_PATH", "DBT_LOG_PATH", "DBT_TARGET_PATH",
        "DESTINATIONS_DISCLOSURE_CACHE")


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
                         "DESTINATIONS_WAREHOUSE_PATH": str(root / "warehouse" / "warehouse.duckdb"),
                         "DBT_LOG_PATH": str(root / "warehouse" / "dbt" / "logs"),
                         "DBT_TARGET_PATH": str(root / "warehouse" / "dbt" / "target"),
                         "DESTINATIONS_DISCLOSURE_CACHE": str(root / "warehouse" / "disclosure-cache.json")}


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
