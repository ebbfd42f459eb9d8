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


class WarehouseResource(dg.ConfigurableResource):
    """The trust data directory and its DuckDB warehouse. Empty data_dir means DESTINATIONS_DATA_DIR."""

    data_dir: str = ""

    @property
    def paths(self) -> Paths:
        from pathlib import Path
        return paths(Path(self.data_dir) if self.data_dir else None)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Short-lived read-write connection; never hold it across a dbt call."""
        p = self.paths
        p.warehouse_dir.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(p.warehouse))
        try:
            con.execute("create schema if not exists raw")
            yield con
        finally:
            con.close()

    def dbt_env(self) -> None:
        """Point dbt (a subprocess that inherits the environment) at this warehouse."""
        os.environ["DESTINATIONS_WAREHOUSE_PATH"] = str(self.paths.warehouse)
        os.environ["DESTINATIONS_DATA_DIR"] = str(self.paths.root)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(),
            "dbt": DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                                  dbt_executable=str(Path(sys.executable).parent / "dbt")),
        }
    )
