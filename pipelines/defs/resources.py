"""Resources: the warehouse (one DuckDB file, one writer) and dbt."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from contextlib import contextmanager
from typing import Iterator

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from pipelines.config import DBT_PROJECT_DIR, Paths, paths
from pipelines.lib.warehouse import connect_retrying, run_lock


class WarehouseResource(dg.ConfigurableResource):
    """The trust data directory and its DuckDB warehouse. Empty data_dir means DESTINATIONS_DATA_DIR."""

    data_dir: str = ""

    @property
    def paths(self) -> Paths:
        from pathlib import Path
        return paths(Path(self.data_dir) if self.data_dir else None)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """The data directory's run lock (re-entrant; `destinations run` already holds it)."""
        with run_lock(self.paths.warehouse_dir, what="dagster run"):
            yield

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Short-lived read-write connection under the run lock; never hold it across a dbt call.

        Waits out a short-lived reader such as `destinations submit` instead of failing."""
        p = self.paths
        p.warehouse_dir.mkdir(parents=True, exist_ok=True)
        with self.lock():
            con = connect_retrying(p.warehouse)
            try:
                con.execute("create schema if not exists raw")
                yield con
            finally:
                con.close()

    @property
    def dbt_dir(self) -> Path:
        """dbt's target (manifest, run results, partial parse) and logs for this data directory."""
        return self.paths.warehouse_dir / "dbt"

    def dbt_env(self) -> None:
        """Point dbt (a subprocess that inherits the environment) at this warehouse and its own
        target/log folders, so two data directories never share dbt state."""
        os.environ["DESTINATIONS_WAREHOUSE_PATH"] = str(self.paths.warehouse)
        os.environ["DESTINATIONS_DATA_DIR"] = str(self.paths.root)
        os.environ["DBT_LOG_PATH"] = str(self.dbt_dir / "logs")
        os.environ["DBT_TARGET_PATH"] = str(self.dbt_dir / "target")
        # per-block disclosure decisions of the last build (int_disclosure__cells)
        os.environ["DESTINATIONS_DISCLOSURE_CACHE"] = str(self.paths.warehouse.parent / "disclosure-cache.json")


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(),
            "dbt": DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                                  dbt_executable=str(Path(sys.executable).parent / "dbt")),
        }
    )
