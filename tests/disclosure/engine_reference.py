"""The engine's former row-by-row Python loops (structure, primary rules, row closure, facts,
audiences), kept verbatim as the reference the array versions are tested against
(tests/disclosure/test_fast_paths.py, tests/marts/test_disclosure_harness.py)."""
from __future__ import annotations

import duckdb
import polars as pl

from pipelines.lib.disclosure.structure import LINKS, MART_BY_NAME, MARTS, PUBLIC_STATEMENT, _on, _q, row_key_sql


def reference_structure(frames: dict) -> dict:
    """Cells, variables and relations for the marts in `frames` (unpublished mart name -> rows).
    Raises AssertionError naming the relation if a relation does not hold on the data."""
    con = duckdb.connect()
    try:
        present = [m for m in MARTS + (PUBLIC_STATEMENT,) if m.name in frames]
        row_tables = []
        for mi, spec in enumerate(present):
            con.register(f"_src_{spec.name}", frames[spec.name])
            con.execute(f"""
                create table {_q(spec.name)} as
                select {mi} as mart_order, {row_key_sql(spec.keys)} as row_key, *
                from _src_{spec.name}
            """)
            row_tables.append(f"select {mi} as mart_order, row_key from {_q(spec.name)}")
        # deterministic row ids: by mart, then row key
        con.execute("create table rows as select mart_order, row_key, "
                    "row_number() over (order by mart_order, row_key) - 1 as row_id from ("
                    + " union all ".join(row_tables) + ")")
        dup = con.execute("select mart_order, row_key, count(*) from rows group by all having count(*) > 1 "
                          "limit 1").fetchone()
        assert dup is None, f"mart {present[dup[0]].name} has two rows with key {dup[1]!r}"
        for spec in present:
            con.execute(f"""create or replace table {_q(spec.name)} as
                select r.row_id, m.* from {_q(spec.name)} as m
                join rows as r using (mart_order, row_key)""")
        cell_sql = []
        for mi, spec in enumerate(present):
            urn = "academy_urn" if True else "null"
            for k, meas in enumerate(spec.measures):
                cell_sql.append(
                    f"select '{spec.name}' as mart, {mi} as mart_order, row_id, row_key, '{meas}' as measure, "
                    f"{k} as measure_order, cast({meas} as bigint) as value, "
                    f"case when level = 'academy' then cast({urn} as varchar) end as academy_urn, "
                    f"'{spec.denominator}' = '{meas}' as is_denominator from {_q(spec.name)}")
        con.execute("create table cells as select row_number() over (order by row_id, measure_order) - 1 as cell_id, "
                    "* from (" + " union all ".join(cell_sql) + ")")
        n_cells = con.execute("select count(*) from cells").fetchone()[0]

        ids = con.execute("select cell_id, row_id, measure, value from cells order by cell_id").fetchall()
        cell_id_of = {(r, m): i for i, r, m, _ in ids}
        cell_value = [int(v or 0) for _, _, _, v in ids]

        # links -> union-find over cells
        parent = list(range(n_cells))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for link in LINKS:
            if link.a not in frames or link.b not in frames:
                continue
            on = _on(link.match)
            for ma, mb in link.measures:
                pairs = con.execute(f"""
                    select a.row_id, min(b.row_id)
                    from {_q(link.a)} as a join {_q(link.b)} as b on {on}
                    where {link.where} and a.row_id <> b.row_id
                    group by a.row_id
                """).fetchall()
                for ra, rb in pairs:
                    x, y = cell_id_of[(ra, ma)], cell_id_of[(rb, mb)]
                    assert cell_value[x] == cell_value[y], (
                        f"link {link.a}.{ma} = {link.b}.{mb} does not hold "
                        f"({cell_value[x]} <> {cell_value[y]}); the disclosure structure is wrong")
                    rx, ry = find(x), find(y)
                    if rx != ry:
                        parent[max(rx, ry)] = min(rx, ry)
        roots = [find(i) for i in range(n_cells)]
        var_of_root: dict[int, int] = {}
        var = []
        for r in roots:
            var.append(var_of_root.setdefault(r, len(var_of_root)))
        cells = con.execute("select * from cells order by cell_id").pl().with_columns(
            var=pl.Series(var, dtype=pl.Int64))
        values = [0] * len(var_of_root)
        for v, val in zip(var, cell_value):
            values[v] = val
        cell_var = {key: var[i] for key, i in cell_id_of.items()}

        relations: list[tuple[int, tuple[int, ...]]] = []
        names: list[str] = []

        def add(whole: int, parts: list[int], name: str) -> None:
            parts_t = tuple(sorted(p for p in parts if p != whole))
            total = sum(values[p] for p in parts_t)
            assert values[whole] == total, (
                f"relation '{name}' does not hold: {values[whole]} <> {total}; the disclosure structure is wrong")
            if parts_t:
                relations.append((whole, parts_t))
                names.append(name)

        for spec in present:
            rows = con.execute(f"select row_id from {_q(spec.name)} order by row_id").fetchall()
            for (rid,) in rows:
                for whole, parts in spec.within_row:
                    add(cell_var[(rid, whole)], [cell_var[(rid, p)] for p in parts], f"{spec.name}: {whole} row")
            for ru in spec.rollups:
                on = _on(ru.match)
                groups = ", ".join(("w.row_id",) + ru.group)
                whole_rel = _q(spec.name)
                if ru.whole_one_per:
                    whole_rel = (f"(select * from {_q(spec.name)} qualify row_number() over "
                                 f"(partition by {', '.join(ru.whole_one_per)} order by row_id) = 1)")
                got = con.execute(f"""
                    select w.row_id, list(distinct p.row_id order by p.row_id)
                    from {_q(spec.name)} as p join {whole_rel} as w on {on}
                    where ({ru.parts}) and ({ru.whole})
                    group by {groups} order by all
                """).fetchall()
                pairs = ru.measures or tuple((m, m) for m in spec.measures)
                for wrow, prow in got:
                    for wm, pm in pairs:
                        add(cell_var[(wrow, wm)], [cell_var[(p, pm)] for p in prow], f"{spec.name}: {ru.name}")
        # one copy of each relation
        seen = {}
        for rel, name in zip(relations, names):
            seen.setdefault(rel, name)
        rels = sorted(seen)
        row_den = {}
        row_vars: dict[int, list[int]] = {}
        var_rows: dict[int, list[int]] = {}
        for r, v, den in zip(cells["row_id"], cells["var"], cells["is_denominator"]):
            row_vars.setdefault(r, []).append(v)
            var_rows.setdefault(v, []).append(r)
            if den:
                row_den[r] = v
        return dict(cells=cells, values=values, relations=rels, row_denominator=row_den,
                         row_vars=row_vars, var_rows=var_rows, relation_names=[seen[r] for r in rels])
    finally:
        con.close()


def primary_hidden(st, min_cohort: int = 6, min_count: int = 3) -> dict[int, str]:
    """Variables hidden by the primary rules -> reason."""
    reason: dict[int, str] = {}
    c = st.cells
    rows_value = {}
    for r, m, v in zip(c["row_id"], c["measure"], c["value"]):
        rows_value[(r, m)] = int(v or 0)
    for mart, r, m, val, var, is_den in zip(c["mart"], c["row_id"], c["measure"], c["value"], c["var"],
                                            c["is_denominator"]):
        spec = MART_BY_NAME[mart]
        val = int(val or 0)
        den = rows_value[(r, spec.denominator)]
        if 1 <= den < min_cohort:
            reason.setdefault(var, "primary row")
            continue
        if is_den:
            continue
        base_m = spec.complement_of.get(m)
        base = rows_value[(r, base_m)] if base_m else None
        if 1 <= val < min_count or (base is not None and base > 0 and 1 <= base - val < min_count):
            reason[var] = "primary cell"
    return reason


def _close_rows(st, hidden: dict[int, str]) -> None:
    """A row whose denominator is hidden is hidden whole (in place)."""
    todo = sorted(hidden)
    while todo:
        v = todo.pop()
        for r in st.var_rows.get(v, ()):
            if st.row_denominator.get(r) == v:
                for w in st.row_vars[r]:
                    if w not in hidden:
                        hidden[w] = "secondary (row)"
                        todo.append(w)


def audiences(st) -> dict[str, set[int]]:
    """Audience -> variables it knows without the published marts: directors nothing; each
    academy user all cells of its own academy rows (academy_own marts)."""
    out: dict[str, set[int]] = {"director": set()}
    c = st.cells.filter(pl.col("academy_urn").is_not_null())
    for urn, var in zip(c["academy_urn"], c["var"]):
        out.setdefault(f"academy {urn}", set()).add(var)
    return {k: out[k] for k in sorted(out, key=lambda k: (k != "director", k))}


def _var_facts(st):
    """Per variable: value, is a row denominator, is a trust-level (or other non-academy) cell."""
    n = len(st.values)
    is_den = [False] * n
    for v in st.row_denominator.values():
        is_den[v] = True
    trustish = [False] * n
    for v, urn in zip(st.cells["var"].to_list(), st.cells["academy_urn"].to_list()):
        if urn is None:
            trustish[v] = True
    n_whole = [0] * n
    for whole, _ in st.relations:
        n_whole[whole] += 1
    return is_den, trustish, n_whole


