"""Resources: the warehouse (one DuckDB file, one writer) and dbt."""
from __future__ import annotations

import sys
from pathlib import Path
from contextlib import contextmanager
from typing import Iterator

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from pipelines.config import DBT_PROJECT_DIR, Paths, dbt_env, paths
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
        return self.paths.dbt_dir

    def dbt_env(self) -> None:
        """Point dbt at this data directory (pipelines.config.dbt_env, which the runner uses too)."""
        dbt_env(self.paths)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(),
            "dbt": DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                                  dbt_executable=str(Path(sys.executable).parent / "dbt")),
        }
    )
