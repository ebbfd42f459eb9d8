"""engine.duckdb_memory_limit: int_disclosure__cells lowers DuckDB's memory_limit while the engine
runs (DuckDB gives back what it kept above it) and sets the profile's limit again after it, also
when the engine fails."""
from __future__ import annotations

import duckdb
import pytest

from pipelines.lib.disclosure.engine import duckdb_memory_limit


def _limit(con) -> str:
    return con.execute("select current_setting('memory_limit')").fetchone()[0]


def _held(con) -> int:
    return con.execute("select sum(memory_usage_bytes) from duckdb_memory()").fetchone()[0]


def _as_set(limit: str) -> str:
    """current_setting('memory_limit') of a connection given `limit`."""
    con = duckdb.connect(config={"memory_limit": limit})
    try:
        return _limit(con)
    finally:
        con.close()


def test_lowered_while_the_engine_runs_then_the_profiles_limit(tmp_path):
    con = duckdb.connect(config={"memory_limit": "2GB", "temp_directory": str(tmp_path / "spill")})
    try:
        # a temporary table such as the cells streamed on a first build: kept in memory
        con.execute("create temp table cells as select i, 'academy|' || i::varchar as row_key "
                    "from range(1000000) t(i)")
        assert _held(con) > 20 * 2**20
        with duckdb_memory_limit(con, "16MB", "3GB"):
            assert _limit(con) == _as_set("16MB")
            assert _held(con) <= 16 * 10**6   # the rest went to the temp folder
        assert _limit(con) == _as_set("3GB")
        assert con.execute("select count(*), sum(i) from cells").fetchone() == (1000000, 1000000 * 999999 // 2)
    finally:
        con.close()


def test_the_profiles_limit_again_when_the_engine_fails():
    con = duckdb.connect(config={"memory_limit": "2GB"})
    try:
        with pytest.raises(RuntimeError, match="engine failed"):
            with duckdb_memory_limit(con, "64MB", "1GB"):
                raise RuntimeError("engine failed")
        assert _limit(con) == _as_set("1GB")
    finally:
        con.close()
