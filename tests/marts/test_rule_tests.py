"""The one-query dbt rule tests (tests/generic/td_not_null.sql, td_rules.sql) catch what the
per-column tests they replace caught: each is rendered as dbt renders it and run on DuckDB
against a table with a planted null, a broken rule and an empty table."""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import jinja2
import pytest

GENERIC = Path(__file__).resolve().parents[2] / "dbt_project" / "tests" / "generic"


def render(name: str, **kwargs) -> str:
    text = (GENERIC / f"{name}.sql").read_text()
    m = re.search(r"{%\s*test\s+\w+\((.*?)\)\s*%}(.*){%\s*endtest\s*%}", text, re.S)
    defaults = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}  # as dbt applies them
    return jinja2.Environment().from_string(m.group(2)).render(**{**defaults, **kwargs})


@pytest.fixture()
def con():
    con = duckdb.connect()
    con.execute("create table m (level varchar, cohort int, neet int, neet_pct double)")
    con.execute("insert into m values ('academy', 10, 2, 20.0), ('trust', 10, 2, 20.0)")
    return con


def failing(con, sql: str) -> list[tuple]:
    return sorted(con.execute(sql).fetchall())


def test_not_null_names_each_column_with_nulls(con):
    sql = render("td_not_null", model="m", columns=["level", "cohort", "neet"])
    assert failing(con, sql) == []
    con.execute("insert into m values (null, 5, null, 1.0), ('trust', 4, null, 1.0)")
    assert failing(con, sql) == [("level", 1), ("neet", 2)]


def test_rules_name_each_broken_rule_and_count_rows(con):
    rules = ["neet <= cohort", "neet_pct is null or neet_pct between 0 and 100",
             "level in ('academy', 'trust')"]
    sql = render("td_rules", model="m", expressions=rules, min_rows=1)
    assert failing(con, sql) == []
    con.execute("insert into m values ('academy', 3, 5, 166.7), ('school', 3, 1, 33.3)")
    assert failing(con, sql) == [("level in ('academy', 'trust')", 1), ("neet <= cohort", 1),
                                 ("neet_pct is null or neet_pct between 0 and 100", 1)]
    # a rule that cannot be evaluated (null) counts as broken, as td_expression_is_true did
    con.execute("insert into m values ('trust', null, 1, null)")
    assert ("neet <= cohort", 2) in failing(con, sql)


def test_rules_fail_on_an_empty_mart(con):
    con.execute("delete from m")
    assert failing(con, render("td_rules", model="m", expressions=["cohort >= 0"], min_rows=1)) == [
        ("at least 1 rows", 1)]
    assert failing(con, render("td_rules", model="m", expressions=["cohort >= 0"])) == []
