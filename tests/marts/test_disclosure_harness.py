"""The attack harness on the demo trust's marts, as the dbt build publishes them.

Every relation the harness uses holds on the unpublished data (so what it recovers is real);
directors and academy users recover no hidden cell from the published marts (plus, for an
academy, everything about its own academy); the two marts that share counts show them in the
same state; and the published marts are the same cells run after run.
"""
from __future__ import annotations

import duckdb
import polars as pl

from pipelines.lib.disclosure.audit import audit
from pipelines.lib.disclosure.structure import MARTS, build_structure, text_cells
from tests.marts.helpers import run_dbt

PUBLISHED = [m.published for m in MARTS]
DM_NNK_KEYS = ["level", "academy_urn", "leaving_year", "key_stage", "round", "breakdown_topic", "breakdown"]


def _frames(warehouse, names):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {n: con.execute(f"select * from marts.{n}").pl() for n in names}
    finally:
        con.close()


def _marts(warehouse):
    unpub = _frames(warehouse, [m.name for m in MARTS])
    pub = {m.name: f for m, f in zip(MARTS, _frames(warehouse, PUBLISHED).values())}
    return unpub, pub


def test_every_relation_of_the_harness_holds_on_the_demo_marts(demo_warehouse):
    warehouse, _ = demo_warehouse
    unpub, _ = _marts(warehouse)
    assert all(not unpub[m].is_empty() for m in ("destination_measures", "fsq_construct_scores",
                                                 "destination_routes", "destination_providers"))
    st = build_structure(unpub)   # raises naming any relation that does not hold
    # destination_measures and neet_not_known share their cohort/excluded/neet/not_known cells
    shared = st.cells.filter(pl.col("mart").is_in(["destination_measures", "neet_not_known"]))
    assert shared["var"].n_unique() < shared.height
    names = set(st.relation_names)
    assert {"destination_measures: topic to Total", "destination_measures: academies to trust",
            "destination_measures: Disadvantage and sex to Sex", "neet_not_known: cohort row",
            "destination_routes: rows to frame", "destination_providers: academies to trust",
            "fsq_destination_rates: readiness bands to All"} <= names


def test_directors_and_academy_users_recover_no_hidden_cell(demo_warehouse):
    """The done-when of issue 12 on the demo trust: the attack (every relation, repeated until
    nothing changes, with non-negativity; exact linear algebra per block) recovers nothing for
    a director nor for any academy user, who also knows all of their own academy's cells."""
    warehouse, _ = demo_warehouse
    unpub, pub = _marts(warehouse)
    res = audit(unpub, pub)
    n_academies = unpub["destination_measures"].filter(pl.col("level") == "academy")["academy_urn"].n_unique()
    assert len(res.recovered) == 1 + n_academies, res.recovered
    assert res.pct_leaks == 0
    assert all(0 < res.hidden_share[m] < 1 for m in ("destination_measures", "neet_not_known")), res.hidden_share
    assert res.recovered == {a: 0 for a in res.recovered}, (res.recovered, res.recovered_nonzero, res.examples)


def test_destination_measures_and_neet_not_known_show_shared_counts_alike(demo_warehouse):
    """No `cohort - neet_denominator` leak: a count the two marts share is hidden in both or in
    neither, and where `excluded` is hidden its cohort and NEET denominator are not both shown."""
    warehouse, _ = demo_warehouse
    f = _frames(warehouse, ["destination_measures_published", "neet_not_known_published"])
    both = f["destination_measures_published"].join(f["neet_not_known_published"], on=DM_NNK_KEYS,
                                                     how="inner", suffix="_nnk", nulls_equal=True)
    assert both.height > 100
    for m in ("cohort", "excluded", "neet", "not_known"):
        differ = both.filter(pl.col(m).is_null() != pl.col(f"{m}_nnk").is_null())
        assert differ.is_empty(), (m, differ.select(DM_NNK_KEYS).head(3))
    leak = both.filter(pl.col("excluded").is_null() & pl.col("cohort").is_not_null()
                       & pl.col("neet_denominator").is_not_null())
    assert leak.is_empty(), leak.select(DM_NNK_KEYS).head(3)


def test_published_marts_are_the_same_cells_run_after_run(demo_warehouse):
    """Rebuild the disclosure decision and every published model: the same rows, values and
    suppression (EXCEPT ALL both ways; no row_number() over (), no ties broken by accident)."""
    warehouse, _ = demo_warehouse
    names = ["int_disclosure__cells", "int_disclosure__public_cells"] + PUBLISHED + ["public_destination_statement"]
    schema = {n: "intermediate" if n.startswith("int_") else "marts" for n in names}
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists run_before")
        for n in names:
            con.execute(f"create or replace table run_before.{n} as select * from {schema[n]}.{n}")
    finally:
        con.close()
    run_dbt(warehouse, "run", "--select", " ".join(names))
    con = duckdb.connect(str(warehouse))
    try:
        for n in names:
            a, b = f"run_before.{n}", f"{schema[n]}.{n}"
            rows = con.execute(f"select count(*) from {b}").fetchone()[0]
            assert rows > 0 or n.startswith("fsq_"), n
            only_before = con.execute(f"select count(*) from (from {a} except all from {b})").fetchone()[0]
            only_after = con.execute(f"select count(*) from (from {b} except all from {a})").fetchone()[0]
            assert (only_before, only_after) == (0, 0), (n, rows, only_before, only_after)
        con.execute("drop schema run_before cascade")
    finally:
        con.close()


def test_the_array_structure_equals_the_row_by_row_reference_on_every_mart(demo_warehouse):
    """build_structure (array work) gives the former row-by-row loops' cells, variables,
    relations and relation names on every mart of the generated trust (repeated frame totals,
    links across marts, FSQ bands, goals), and the primary rules and row closure theirs."""
    from types import SimpleNamespace

    from pipelines.lib.disclosure.engine import _close_rows, primary_hidden
    from tests.disclosure import engine_reference as ref
    warehouse, _ = demo_warehouse
    unpub, _ = _marts(warehouse)
    st, want = build_structure(unpub), SimpleNamespace(**ref.reference_structure(unpub))
    assert text_cells(st.cells).drop("partition_label").equals(want.cells) and st.values == want.values
    assert st.relations == want.relations and st.relation_names == want.relation_names
    assert len(set(st.relation_names)) >= 20
    got, exp = primary_hidden(st), ref.primary_hidden(want)
    _close_rows(st, got)
    ref._close_rows(want, exp)
    assert got == exp and set(got.values()) >= {"primary row", "primary cell"}
