"""int_disclosure__cells streams each partition's cells into a temporary table of dbt's connection
and returns it as a relation: after a changed leaving year the incremental table equals a cold
(full-refresh) build, row for row and column type for column type."""
from __future__ import annotations

import duckdb

from pipelines.lib.disclosure.structure import MARTS
from tests.marts.helpers import run_dbt

CELLS = "intermediate.int_disclosure__cells"


def _schema(con, table: str) -> list[tuple]:
    schema, name = table.split(".")
    return con.execute("select column_name, data_type from information_schema.columns where table_schema = ? "
                       "and table_name = ? order by ordinal_position", [schema, name]).fetchall()


def _mart_tables(con) -> dict[str, str]:
    return {name: f"{schema}.{name}" for schema, name in con.execute(
        "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE'").fetchall()
        if name in {m.name for m in MARTS}}


def test_a_changed_year_rebuilt_incrementally_equals_a_cold_build(demo_warehouse, tmp_path, monkeypatch):
    warehouse, _ = demo_warehouse
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_CACHE", str(tmp_path / "disclosure-cache.sqlite"))
    run_dbt(warehouse, "run", "--select", "int_disclosure__cells")    # the table as the marts are now
    con = duckdb.connect(str(warehouse))
    try:
        year = con.execute(f"select max(partition_label) from {CELLS} "
                           f"where partition_label like 'leaving_year=%'").fetchone()[0].split("=")[1]
        con.execute("create schema if not exists stream")
        marts = _mart_tables(con)
        # a corrected year: every count of every leaving-year mart doubled in it (sums stay sums)
        for spec in MARTS:
            if spec.partition == ("leaving_year",) and spec.name in marts:
                con.execute(f"create or replace table stream.{spec.name} as select * from {marts[spec.name]}")
                doubled = ", ".join(f"{m} = {m} * 2" for m in spec.measures)
                con.execute(f"update {marts[spec.name]} set {doubled} where leaving_year = ?", [year])
        con.execute(f"create or replace table stream.before as select * from {CELLS}")
    finally:
        con.close()
    try:
        run_dbt(warehouse, "run", "--select", "int_disclosure__cells")
        con = duckdb.connect(str(warehouse))
        try:
            con.execute(f"create or replace table stream.incremental as select * from {CELLS}")
            rewritten = con.execute(f"select count(*) from (select * from {CELLS} except all select * from "
                                    f"stream.before) where partition_label <> ?", [f"leaving_year={year}"]).fetchone()
        finally:
            con.close()
        assert rewritten == (0,)          # only the changed year's rows differ
        run_dbt(warehouse, "run", "--select", "int_disclosure__cells", "--full-refresh")
        con = duckdb.connect(str(warehouse))
        try:
            assert _schema(con, CELLS) == _schema(con, "stream.incremental")
            diff = [con.execute(f"select count(*) from (select * from {a} except all select * from {b})").fetchone()[0]
                    for a, b in ((CELLS, "stream.incremental"), ("stream.incremental", CELLS))]
            assert diff == [0, 0]
            changed = con.execute(f"select count(*) from (select * from {CELLS} except all select * from "
                                  f"stream.before)").fetchone()[0]
            assert changed > 0            # the doubled year is a real change
        finally:
            con.close()
    finally:   # the marts and the cells as they were, for the other tests of this session
        con = duckdb.connect(str(warehouse))
        try:
            for spec in MARTS:
                if spec.partition == ("leaving_year",) and spec.name in marts:
                    con.execute(f"delete from {marts[spec.name]}")
                    con.execute(f"insert into {marts[spec.name]} select * from stream.{spec.name}")
        finally:
            con.close()
        run_dbt(warehouse, "run", "--select", "int_disclosure__cells")
