"""int_disclosure__cells.insert_cells: each partition's cells go into the table with their label and
digest, and DuckDB does not keep the partition's Arrow view after it (it held the cells, 0.2-0.3 GB
at 800 academies, while the next partition was built and suppressed)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
import polars as pl
import pytest

MODEL = Path(__file__).resolve().parents[2] / "dbt_project/models/intermediate/disclosure/int_disclosure__cells.py"


@pytest.fixture(scope="module")
def cells_model():
    spec = importlib.util.spec_from_file_location("int_disclosure__cells_under_test", MODEL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _cells(n: int, year: str) -> pl.DataFrame:
    return pl.DataFrame({"mart": ["destination_measures"] * n, "row_key": [f"{year}|A{i}" for i in range(n)],
                         "measure": ["leavers"] * n, "measure_order": [1] * n, "value": list(range(n)),
                         "hidden": [i % 3 == 0 for i in range(n)], "reason": [None] * n})


def _viewed(con) -> bool:
    try:
        con.execute("select count(*) from disclosure_cells_part").fetchone()
    except duckdb.CatalogException:
        return False
    return True


def test_each_partition_is_inserted_and_its_arrow_view_not_kept(cells_model):
    con = duckdb.connect()
    try:
        sql_type = {pl.Utf8: "varchar", pl.Int64: "bigint", pl.Int32: "integer", pl.Boolean: "boolean"}
        cols = ", ".join(f'"{c}" {sql_type[t]}' for c, t in cells_model.CELLS_SCHEMA.items())
        con.execute(f"create temp table cells ({cols})")
        for year, n in (("2024-25", 1000), ("2025-26", 700)):
            cells_model.insert_cells(con, "cells", _cells(n, year), f"leaving_year={year}", f"digest-{year}")
            assert not _viewed(con)   # DuckDB holds no reference to the partition's cells
        got = pl.from_arrow(con.execute("select * from cells order by partition_label, value").arrow())
        assert got.columns == list(cells_model.CELLS_SCHEMA)
        assert got.group_by("partition_label", "partition_digest").len().sort("partition_label").rows() == [
            ("leaving_year=2024-25", "digest-2024-25", 1000), ("leaving_year=2025-26", "digest-2025-26", 700)]
        want = pl.concat([_cells(1000, "2024-25"), _cells(700, "2025-26")])
        assert got.select(want.columns).sort("row_key").equals(want.sort("row_key"))
    finally:
        con.close()


def test_the_view_is_dropped_when_the_insert_fails(cells_model):
    con = duckdb.connect()
    try:
        with pytest.raises(duckdb.CatalogException):
            cells_model.insert_cells(con, "no_such_table", _cells(10, "2025-26"), "leaving_year=2025-26", "d")
        assert not _viewed(con)
    finally:
        con.close()
