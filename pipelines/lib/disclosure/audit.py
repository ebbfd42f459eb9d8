"""The attack harness over published files: what each audience recovers of the hidden cells.

Reads the unpublished marts (to learn the relations that hold, and the true values) and the
published twins (what a director sees), then runs `attack.Attack` for directors and for
academy users (the published cells plus all of their own academy's cells).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.lib.disclosure.attack import Attack, index_relations, recover
from pipelines.lib.disclosure.gauss import blocks
from pipelines.lib.disclosure.structure import MARTS, Structure, build_structure, row_key_sql, text_cells


@dataclass
class AuditResult:
    hidden_share: dict[str, float]          # mart -> share of its cells hidden
    cells: dict[str, int]                   # mart -> cells
    recovered: dict[str, int]               # audience -> hidden cells recovered (not pinned by own cells alone)
    recovered_nonzero: dict[str, int]       # audience -> of which non-zero
    examples: dict[str, list[str]]          # audience -> a few recovered cells
    pct_leaks: int                          # shares shown where their count is hidden
    seconds: float


def read_serving(serving: Path) -> tuple[dict, dict]:
    """(unpublished frames, published frames) from a serving snapshot directory of Parquet files."""
    unpub, pub = {}, {}
    for spec in MARTS:
        a, b = serving / f"{spec.name}.parquet", serving / f"{spec.published}.parquet"
        if a.exists() and b.exists():
            unpub[spec.name] = pl.read_parquet(a)
            pub[spec.name] = pl.read_parquet(b)
    return unpub, pub


def hidden_cells(st: Structure, published: dict[str, pl.DataFrame]) -> tuple[pl.DataFrame, int]:
    """st.cells with `hidden` (null in the published twin, or its row missing there) and the
    number of shares shown where their count is hidden."""
    con = duckdb.connect()
    try:
        con.register("cells", text_cells(st.cells.select("cell_id", "mart", "row_key", "measure")))
        parts, leaks = [], 0
        for spec in MARTS:
            if spec.name not in published:
                continue
            frame = published[spec.name]
            con.register("pub", frame)
            cols = set(frame.columns)
            sel = ", ".join(f"{m} is null as h_{m}" for m in spec.measures)
            long = con.execute(f"""
                select c.cell_id, coalesce(
                    case c.measure {' '.join(f"when '{m}' then p.h_{m}" for m in spec.measures)} end, true) as hidden
                from cells as c
                left join (select {row_key_sql(spec.keys)} as row_key, {sel} from pub) as p using (row_key)
                where c.mart = '{spec.name}'
            """).pl()
            parts.append(long)
            for m in spec.measures:
                if f"{m}_pct" in cols:
                    leaks += con.execute(f"select count(*) from pub where {m} is null and {m}_pct is not null"
                                         ).fetchone()[0]
            con.unregister("pub")
        flags = pl.concat(parts)
        # a cell null in the unpublished mart too (a count that does not apply, e.g. `undecided` in
        # an actual round) is no hidden cell: nothing is there to recover
        return text_cells(st.cells).join(flags, on="cell_id", how="left").with_columns(
            pl.col("hidden").fill_null(True) & pl.col("value").is_not_null()), leaks
    finally:
        con.close()


def known_alone(relations, values: list[int], hidden: set[int], known: set[int], got, block_of: list[int],
                rel_of) -> dict[int, int]:
    """Of the cells `got` an academy user recovers, those its own cells and the shown zeros alone
    pin (every other cell of their blocks unknown): e.g. a trust row of one academy, or a trust
    cell equal to its own because every other academy shows 0 there. Nothing about anyone else
    is learnt from them, so they are no disclosure."""
    bs = {block_of[v] for v in got}
    others = {v for v in range(len(values)) if block_of[v] in bs and (v in hidden or values[v])} - known
    return recover(relations, values, others, known, rel_of)


def audit(unpublished: dict, published: dict, academies: int | None = None,
          structure: Structure | None = None, groups: list[tuple[str, ...]] | None = None) -> AuditResult:
    """Attack the published marts as a director and as academy users (all academies, or the
    first `academies` by URN); `groups` adds users linked to several academies at once (they
    know every cell of each), named `academies A+B`."""
    t0 = time.perf_counter()
    st = structure or build_structure(unpublished)
    cells, leaks = hidden_cells(st, published)
    hidden_vars = set(cells.filter("hidden")["var"].to_list())
    # a variable shown in one place and hidden in another is shown
    shown_vars = set(cells.filter(~pl.col("hidden"))["var"].to_list())
    inconsistent = hidden_vars & shown_vars
    hidden_vars -= shown_vars
    rel_of = index_relations(st.relations)
    own: dict[str, set[int]] = {}
    ac = cells.filter(pl.col("academy_urn").is_not_null())
    for urn, var in zip(ac["academy_urn"].to_list(), ac["var"].to_list()):
        own.setdefault(urn, set()).add(var)
    urns = sorted(own)[:academies] if academies is not None else sorted(own)
    audiences = {"director": set()} | {f"academy {u}": own[u] for u in urns}
    for g in groups or ():
        audiences[f"academies {'+'.join(g)}"] = set().union(*(own.get(u, set()) for u in g))
    recovered, recovered_nonzero, examples = {}, {}, {}
    var_cells = cells.filter("hidden").group_by("var").agg(pl.len().alias("n"),
                                                           pl.format("{}/{}/{}", "mart", "row_key", "measure")
                                                           .first().alias("example"))
    n_of = dict(zip(var_cells["var"].to_list(), var_cells["n"].to_list()))
    ex_of = dict(zip(var_cells["var"].to_list(), var_cells["example"].to_list()))
    block_of = None
    attack = Attack(st.relations, st.values, hidden_vars, rel_of)   # directors once, academies from there
    for name, known in audiences.items():
        got = attack.recover(known)
        if got and known:
            if block_of is None:
                block_of, _ = blocks(len(st.values), st.relations)
            alone = known_alone(st.relations, st.values, hidden_vars, known, got, block_of, rel_of)
            got = {v: x for v, x in got.items() if v not in alone}
        recovered[name] = sum(n_of.get(v, 1) for v in got) + (len(inconsistent) if name == "director" else 0)
        recovered_nonzero[name] = sum(n_of.get(v, 1) for v, x in got.items() if x)
        examples[name] = [f"{ex_of.get(v)} = {x}" for v, x in sorted(got.items(), key=lambda i: (-i[1], i[0]))[:5]]
    share = cells.group_by("mart").agg(pl.col("hidden").mean().alias("share"), pl.len().alias("n")).sort("mart")
    return AuditResult(hidden_share=dict(zip(share["mart"], share["share"])), cells=dict(zip(share["mart"], share["n"])),
                       recovered=recovered, recovered_nonzero=recovered_nonzero, examples=examples, pct_leaks=leaks, seconds=time.perf_counter() - t0)
