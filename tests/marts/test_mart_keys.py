"""The row grain of each protected mart has one home in dbt (macros/mart_keys.sql): it must be the
grain the disclosure engine numbers cells by (structure.MartSpec.keys), or td_publish would find
no decision for a row and hide it whole. td_same_row joins on such a grain, trust rows included."""
from __future__ import annotations

import duckdb
import pytest

from pipelines.lib.disclosure.structure import MARTS
from tests.marts.helpers import dbt_macros, macro_value


def _macros():
    return dbt_macros("mart_keys.sql")


def mart_keys(mart: str) -> list[str]:
    return macro_value(_macros().td_mart_keys, mart)


@pytest.mark.parametrize("spec", MARTS, ids=lambda s: s.name)
def test_dbt_row_grain_is_the_engines(spec):
    assert mart_keys(spec.name) == list(spec.keys)


def test_an_unknown_mart_is_a_compile_error():
    with pytest.raises(ValueError, match="no row grain for mart 'nope'"):
        mart_keys("nope")


def test_same_row_matches_trust_rows_and_nothing_else():
    cond = str(_macros().td_same_row("a", "b", ["level", "academy_urn", "leaving_year"])).strip()
    assert cond == ("a.level = b.level and a.academy_urn is not distinct from b.academy_urn "
                    "and a.leaving_year = b.leaving_year")
    con = duckdb.connect()
    con.execute("create table a as select * from (values ('trust', null, '2024-25', 1), "
                "('academy', 100, '2024-25', 2), ('academy', 101, '2024-25', 3)) t(level, academy_urn, leaving_year, x)")
    con.execute("create table b as select * from (values ('trust', null, '2024-25', 10), "
                "('academy', 100, '2024-25', 20), ('academy', 100, '2023-24', 30)) t(level, academy_urn, leaving_year, y)")
    got = con.execute(f"select a.x, b.y from a left join b on {cond} order by a.x").fetchall()
    assert got == [(1, 10), (2, 20), (3, None)]
