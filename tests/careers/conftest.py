"""Shared fixture: the tiny hand-made trust run through the real ingest and a real dbt build."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

import pipelines.config as cfg
from tests.careers import handmade

# the published FSQ marts pivot the one disclosure decision (int_disclosure__cells), which
# needs every aggregate mart it links: build it and its parents too
DBT_SELECT = ("destination_codes compass_national gatsby_benchmarks path:models/staging/careers "
              "path:models/intermediate/careers path:models/marts/careers +int_disclosure__cells")


def write_files(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def write_register(root: Path, academies: pl.DataFrame) -> None:
    (root / "raw").mkdir(parents=True, exist_ok=True)
    academies.write_csv(root / "raw" / "academies.csv")


def run_dbt(root: Path, warehouse: Path, *command: str) -> subprocess.CompletedProcess:
    """dbt `command` (default: build DBT_SELECT) on `warehouse`, with root's own target and log folders."""
    env = {**os.environ, "DESTINATIONS_WAREHOUSE_PATH": str(warehouse), "DESTINATIONS_DATA_DIR": str(root),
           "DO_NOT_TRACK": "1"}
    dbt = Path(sys.executable).parent / "dbt"
    command = command or ("build", "--select", *DBT_SELECT.split(), "--indirect-selection", "cautious")
    return subprocess.run(
        [str(dbt), *command, "--project-dir", str(cfg.DBT_PROJECT_DIR), "--profiles-dir", str(cfg.DBT_PROJECT_DIR),
         "--target-path", str(root / "dbt_target"), "--log-path", str(root / "dbt_logs")],
        env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="session")
def tiny_warehouse(tmp_path_factory):
    """(data root, dataset, duckdb path) after the real FSQ/Compass ingest and dbt build."""
    from pipelines.lib.careers.landing import land
    from pipelines.lib.warehouse import ensure_raw_tables

    root = tmp_path_factory.mktemp("careers_tiny")
    ds = handmade.tiny_dataset()
    write_register(root, ds["academies"])
    write_files(root, ds["files"])
    paths = cfg.paths(root)
    paths.warehouse_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(paths.warehouse))
    ensure_raw_tables(con)
    con.execute("insert into raw.rounds values ('R1','intended','R1',1,'12-15',0), ('R2','intended','R2',2,'05-31',1),"
                " ('R3','actual','R3',3,'11-30',1)")
    con.execute("insert into raw.academies select urn, name, la_code, phase, has_sixth_form = 'Y', "
                "cast(joined_trust as date) from read_csv(?, all_varchar=true)", [str(root / "raw" / "academies.csv")])
    rows = []
    for r in ds["leavers"]:
        base = dict(academy_urn=r["academy_urn"], leaving_year="2024-25", upn=r["upn"], upn_is_temporary=False,
                    year_group=11, sex=r["sex"], sen_provision=r["sen_provision"], source_file="x",
                    file_sha256="x", source_row=1)
        # R1 says the opposite disadvantage: the latest round (R3) must win
        rows.append({**base, "round": "R1", "disadvantaged": not r["disadvantaged"], "destination_code": "UND"})
        rows.append({**base, "round": "R3", "disadvantaged": r["disadvantaged"],
                     "destination_code": r["destination_code"]})
    frame = pl.DataFrame(rows)
    con.register("_r", frame.to_arrow())
    con.execute(f"insert into raw.destination_returns ({', '.join(frame.columns)}) "
                f"select {', '.join(frame.columns)} from _r")
    fsq = land("fsq", paths, con)
    compass = land("compass", paths, con)
    # goals, NEET-risk weights and benchmarks: the disclosure decision builds every linked mart
    from pipelines.lib.goals import default_goals_frame, default_neet_risk_frame, write_config_tables
    write_config_tables(con, default_goals_frame(), default_neet_risk_frame())
    con.close()
    from tests.marts.helpers import load_benchmarks
    load_benchmarks(paths.warehouse, root / "no_benchmark_files")
    proc = run_dbt(root, paths.warehouse)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return {"root": root, "ds": ds, "warehouse": paths.warehouse, "fsq": fsq, "compass": compass}


def query(warehouse: Path, sql: str, params=None) -> pl.DataFrame:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).pl()
    finally:
        con.close()
