"""dbt runs from the data directory's warehouse folder (lib/dbt_cli.py) and names the warehouse
relative to it, so every data directory renders the same profile: a moved or copied data
directory's dbt does not parse the whole project again, yet each opens its own warehouse and
keeps its own dbt state."""
import os
import shutil
import subprocess
import sys

from pipelines.config import DBT_PROJECT_DIR, dbt_env, paths

KEYS = ("DESTINATIONS_DATA_DIR", "DESTINATIONS_WAREHOUSE_PATH", "DESTINATIONS_DBT_WORKDIR", "DBT_LOG_PATH",
        "DBT_TARGET_PATH", "DESTINATIONS_DISCLOSURE_CACHE")


def _dbt(*args: str) -> subprocess.CompletedProcess:
    """dbt as the dbt asset starts it (resources.TrustDbtCliResource), in this process's environment."""
    return subprocess.run([sys.executable, "-m", "pipelines.lib.dbt_cli", *args, "--project-dir", str(DBT_PROJECT_DIR),
                           "--profiles-dir", str(DBT_PROJECT_DIR)], cwd=DBT_PROJECT_DIR, capture_output=True,
                          text=True, env={**os.environ, "DO_NOT_TRACK": "1"})


def _log_says(logs, text: str) -> bool:
    return text in (logs / "dbt.log").read_text()


def test_each_data_directory_opens_its_own_warehouse_and_keeps_its_own_dbt_state(tmp_path, monkeypatch):
    for k in KEYS:
        monkeypatch.setenv(k, "unset-by-test")          # restored after the test
    stray = DBT_PROJECT_DIR / "warehouse.duckdb"
    existed = stray.exists()
    for trust, answer in (("one", 1), ("two", 2)):
        p = paths(tmp_path / trust)
        p.warehouse_dir.mkdir(parents=True)
        dbt_env(p)
        out = _dbt("show", "--inline", f"select {answer} as answer", "--output", "json")
        assert out.returncode == 0, out.stdout + out.stderr
        assert p.warehouse.exists(), "dbt opened another file than the data directory's warehouse"
        assert '"answer": %d' % answer in out.stdout
        assert (p.dbt_dir / "logs" / "dbt.log").exists() and (p.dbt_dir / "target" / "partial_parse.msgpack").exists()
    assert stray.exists() == existed, "dbt opened a warehouse in the dbt project folder"
    assert str(tmp_path / "two") not in (tmp_path / "one" / "warehouse" / "dbt" / "logs" / "dbt.log").read_text()


def test_a_moved_data_directory_does_not_make_dbt_parse_again(tmp_path, monkeypatch):
    """The partial parse one data directory's dbt made is valid after the directory is copied
    elsewhere (a restore, a bench's copy): dbt finds nothing changed instead of parsing it all."""
    for k in KEYS:
        monkeypatch.setenv(k, "unset-by-test")
    first = paths(tmp_path / "first")
    first.warehouse_dir.mkdir(parents=True)
    dbt_env(first)
    assert _dbt("ls", "--select", "destination_measures").returncode == 0
    assert (first.dbt_dir / "target" / "partial_parse.msgpack").exists()

    shutil.copytree(tmp_path / "first", tmp_path / "moved")
    moved = paths(tmp_path / "moved")
    (moved.dbt_dir / "logs" / "dbt.log").unlink()
    dbt_env(moved)
    out = _dbt("ls", "--select", "destination_measures")
    assert out.returncode == 0 and "destination_measures" in out.stdout, out.stdout + out.stderr
    logs = moved.dbt_dir / "logs"
    assert _log_says(logs, "no changes found, skipping parsing")
    assert not _log_says(logs, "Unable to do partial parsing")
