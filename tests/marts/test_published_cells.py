"""Every published twin shows exactly the engine's decision, cell by cell: a count the engine hid
(int_disclosure__cells) is null in `<mart>_published`, a count it showed is the mart's value.
td_publish lists each mart's counts by hand (measures=...), the engine by structure.MartSpec: a
count missing from td_publish would be shown where the engine hid it (a leak), one the engine
does not hold would be hidden on every row. This attack reads what a role sees (the published
marts) against the one decision, for every protected mart of the demo trust."""
from __future__ import annotations

import duckdb
import pytest

from pipelines.lib.disclosure.structure import MARTS, MartSpec, row_key_sql


def wrong_cells(con, spec: MartSpec, table: str) -> list[tuple]:
    """(measure, cells, hidden but shown, shown but changed, no decision) for each count of
    `table` (a mart's rows in marts.) that does not show exactly the engine's cell."""
    unpivot = " union all ".join(
        f"select {row_key_sql(spec.keys)} as row_key, '{m}' as measure, {m} as shown from marts.{table}"
        for m in spec.measures)
    return con.execute(f"""
        select p.measure, count(*) as cells,
               count(*) filter (where c.hidden and p.shown is not null) as hidden_but_shown,
               count(*) filter (where not c.hidden and p.shown is distinct from c.value) as shown_but_changed,
               count(*) filter (where c.row_key is null) as no_decision
        from ({unpivot}) as p
        left join (select * from intermediate.int_disclosure__cells where mart = ?) as c
            on c.row_key = p.row_key and c.measure = p.measure
        group by 1
        having hidden_but_shown > 0 or shown_but_changed > 0 or no_decision > 0
        order by 1""", [spec.name]).fetchall()


@pytest.mark.parametrize("spec", MARTS, ids=lambda s: s.name)
def test_published_counts_are_the_engines_cells(demo_warehouse, spec):
    warehouse, _ = demo_warehouse
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        columns = {r[0] for r in con.execute(f"describe marts.{spec.published}").fetchall()}
        assert set(spec.measures) <= columns, f"{spec.published} lacks {set(spec.measures) - columns}"
        held = {m for (m,) in con.execute("select distinct measure from intermediate.int_disclosure__cells "
                                          "where mart = ?", [spec.name]).fetchall()}
        rows = con.execute(f"select count(*) from marts.{spec.published}").fetchone()[0]
        assert held == (set(spec.measures) if rows else set()), (spec.name, held ^ set(spec.measures))
        assert wrong_cells(con, spec, spec.published) == []
    finally:
        con.close()


def test_the_check_finds_a_count_shown_where_the_engine_hid_it(demo_warehouse):
    """The same check on an unpublished mart (every count shown), as a td_publish that forgot a
    count would publish it: it names the hidden cells shown."""
    warehouse, _ = demo_warehouse
    spec = next(s for s in MARTS if s.name == "destination_measures")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        hidden = dict(con.execute("select measure, count(*) from intermediate.int_disclosure__cells "
                                  "where mart = 'destination_measures' and hidden group by 1").fetchall())
        found = {m: shown for m, _, shown, _, _ in wrong_cells(con, spec, "destination_measures")}
        assert hidden["neet"] > 0
        assert found == hidden   # every hidden cell of every count, and nothing else
    finally:
        con.close()
