"""dbt as the pipeline starts it: `python -m pipelines.lib.dbt_cli <dbt arguments>`, run from the
data directory's warehouse folder (DESTINATIONS_DBT_WORKDIR, set by config.dbt_env).

The profile names the warehouse by a path relative to that folder ("warehouse.duckdb"), so the
profile dbt renders is the same for every data directory. dbt re-parses the whole project when
the rendered profile changes (its partial-parse check hashes the connection settings), so with
an absolute path a new, copied or moved data directory's first build parsed everything again
(~10 CPU-s at `large`); now any parse made for the pipeline serves every data directory. Each
data directory still keeps its own dbt state (DBT_TARGET_PATH, DBT_LOG_PATH: config.dbt_env).

When `destinations run` has started a warm dbt process (lib/dbt_warm.py: dbt already imported), the
command runs there, with this process's stdio, environment and folder; otherwise here.
"""
import os
import sys

WORKDIR_ENV = "DESTINATIONS_DBT_WORKDIR"


def main() -> None:
    workdir = os.environ.get(WORKDIR_ENV)
    if workdir:
        os.chdir(workdir)        # before dbt opens the warehouse by its relative path
    warm = os.environ.get("DESTINATIONS_DBT_WARM_SOCKET")
    if warm:
        from pipelines.lib.dbt_warm import hand_over
        code = hand_over(warm, sys.argv[1:])
        if code is not None:
            sys.exit(code)
        os.environ.pop("DESTINATIONS_DBT_WARM_SOCKET")
    from dbt.cli.main import cli
    sys.argv[0] = "dbt"
    sys.exit(cli())


if __name__ == "__main__":
    main()
