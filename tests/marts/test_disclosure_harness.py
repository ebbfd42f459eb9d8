"""The attack harness on the demo trust's marts: every relation it uses holds on the unpublished
data (so what it recovers is real), and the published marts are the same cells run after run."""
from __future__ import annotations

import duckdb
import polars as pl

from pipelines.lib.disclosure.structure import MARTS, build_structure
from tests.marts.helpers import run_dbt

PUBLISHED = [m.published for m in MARTS]


def _frames(warehouse, names):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {n: con.execute(f"select * from marts.{n}").pl() for n in names}
    finally:
        con.close()


def test_every_relation_of_the_harness_holds_on_the_demo_marts(demo_warehouse):
    warehouse, _ = demo_warehouse
    st = build_structure(_frames(warehouse, [m.name for m in MARTS if not m.name.startswith("fsq_")]))
    # destination_measures and neet_not_known share their cohort/excluded/neet/not_known cells
    shared = st.cells.filter(pl.col("mart").is_in(["destination_measures", "neet_not_known"]))
    assert shared["var"].n_unique() < shared.height
    names = set(st.relation_names)
    assert {"destination_measures: topic to Total", "destination_measures: academies to trust",
            "destination_measures: Disadvantage and sex to Sex", "neet_not_known: cohort row"} <= names


def test_published_marts_are_the_same_cells_run_after_run(demo_warehouse):
    warehouse, _ = demo_warehouse
    names = [n for n in PUBLISHED if not n.startswith("fsq_")]
    before = _frames(warehouse, names)
    run_dbt(warehouse, "run", "--select", " ".join(names))
    after = _frames(warehouse, names)
    for n in names:
        cols = sorted(c for c in before[n].columns if before[n][c].dtype != pl.List(pl.Utf8)) + ["suppressed_measures"]
        a = before[n].with_columns(pl.col("suppressed_measures").list.join(",")).select(cols).sort(cols, nulls_last=True)
        b = after[n].with_columns(pl.col("suppressed_measures").list.join(",")).select(cols).sort(cols, nulls_last=True)
        assert a.equals(b), n
