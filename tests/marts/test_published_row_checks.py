"""tests/published_marts_row_checks.sql (the row checks of the published marts no model reads, one
dbt node) run by dbt on a built warehouse: it passes on good marts even when a build selected only
some of them, and names each planted defect by mart, check and row count."""
from __future__ import annotations

import shutil

import duckdb

from tests.marts.helpers import run_dbt

TEST = "published_marts_row_checks"


def test_the_one_node_names_each_broken_mart_and_skips_marts_not_built(demo_warehouse, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse[0], warehouse)
    con = duckdb.connect(str(warehouse))
    try:   # the session build selects no similar_schools_comparison: skipped, not an error
        assert con.execute("select count(*) from information_schema.tables "
                           "where table_name = 'similar_schools_comparison'").fetchone()[0] == 0
    finally:
        con.close()
    run_dbt(warehouse, "test", "--select", TEST)

    con = duckdb.connect(str(warehouse))
    try:
        con.execute("""update marts.goal_progress_published set suppression_status = 'hidden'
                       where rowid in (select rowid from marts.goal_progress_published limit 2)""")
        con.execute("""update marts.public_destination_statement set public_pct = 101, withheld_reason = null
                       where rowid in (select rowid from marts.public_destination_statement
                                       where public_pct is not null limit 1)""")
    finally:
        con.close()
    proc = run_dbt(warehouse, "test", "--select", TEST, check=False)
    assert proc.returncode != 0, proc.stdout[-3000:]

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = sorted(con.execute(f"select mart, check_name, failing_rows from dbt_test__audit.{TEST}").fetchall())
    finally:
        con.close()
    assert rows == [
        ("goal_progress_published", "accepted values: suppression_status", 2),
        ("public_destination_statement",
         "rule: public_pct is null or (public_pct between 0 and 100 and cast(public_pct as integer) % "
         "rule_round_pct_to = 0)", 1),
    ]
