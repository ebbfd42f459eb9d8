"""Resources: the warehouse (one DuckDB file, one writer) and dbt."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator, Sequence

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


class TrustDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource without two costs it pays before every dbt invocation, for
    things this project never uses (measured on `large`: 2.5-4 s of every build, before dbt starts):

    - the dbt version, which dagster-dbt learns by running `dbt --version` in a subprocess (a
      second dbt start-up, which also asks the network for the latest release): dbt here is the
      dbt-core of this same environment, so its installed version is the answer;
    - a dbt adapter opened in this process (loading dbt's profile, project and the DuckDB
      adapter), used only to fetch row counts or column metadata after a model is built
      (`.fetch_row_counts()`, `.fetch_column_metadata()`), which the dbt asset does not ask for.
    """

    @cached_property
    def _cli_version(self):
        return installed_dbt_version()

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        return None


def installed_dbt_version():
    """The dbt-core version of this environment (what `dbt --version` reports), without starting dbt."""
    from importlib.metadata import version as dist_version

    from packaging import version
    return version.parse(dist_version("dbt-core"))


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(),
            # dbt started from the data directory's warehouse folder (lib/dbt_cli.py): this
            # environment's dbt-core, `python -m pipelines.lib.dbt_cli <dbt arguments>`
            "dbt": TrustDbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                                  dbt_executable=sys.executable, global_config_flags=["-m", "pipelines.lib.dbt_cli"]),
        }
    )
