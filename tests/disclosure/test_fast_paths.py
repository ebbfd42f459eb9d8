"""The engine's array versions of its Python loops give exactly what the loops gave (the loops
are kept in engine_reference.py), and the per-block cache (one SQLite file) keeps, prunes and
recovers as it should."""
from __future__ import annotations

import logging
import random
import sqlite3
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from pipelines.lib.disclosure import engine
from pipelines.lib.disclosure.gauss import blocks
from pipelines.lib.disclosure.structure import (_SORT_PARTS, TEXT_COLUMNS, _components, _Relations, build_structure,
                                                text_cells)
from tests.disclosure import engine_reference as ref
from tests.disclosure.test_engine import destination_measures, neet_not_known, neet_risk_rates, pupils


def _frames_with_links(seed: int):
    """destination_measures + neet_not_known (linked cells: one variable for two marts) of a
    3-academy trust with one excluded pupil, and neet_risk_rates over two leaving years."""
    rnd = random.Random(seed)
    mix = (["school_sixth_form"] * 6 + ["further_education"] * 5 + ["apprenticeship", "neet", "not_known"])
    rows = [{"urn": urn, "dest": "excluded" if (urn, i) == ("A1", 0) else rnd.choice(mix),
             "sex": rnd.choice(["Female", "Male"]), "dis": rnd.choice(["Disadvantaged", "Not disadvantaged"])}
            for urn, n in (("A1", 60), ("A2", 31), ("A3", 7)) for i in range(n)]
    dm = destination_measures(rows)
    nrr = pl.concat([neet_risk_rates(pupils(seed)),
                     neet_risk_rates(pupils(seed + 1)).with_columns(leaving_year=pl.lit("2025-26"))])
    return {"destination_measures": dm, "neet_not_known": neet_not_known(dm), "neet_risk_rates": nrr}


def _reference(frames):
    r = ref.reference_structure(frames)
    return SimpleNamespace(**r)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relations_deduplicated_and_sorted_as_tuples(seed):
    """_Relations.result (array sort and dedup) gives what sorting a dict of (whole, parts tuple)
    gives: one copy of each relation, in tuple order (a shorter prefix first), named by the first
    rule that gave it; with runs of long relations (more than _SORT_PARTS parts) sharing a whole
    and their first parts, given twice by two rules (a trust total from two linked marts)."""
    rnd = np.random.default_rng(seed)
    n = 60
    rel = _Relations(np.zeros(n, np.int64))   # zeros: every relation holds (add checks them)
    want: dict = {}
    for rule in range(4):
        wholes, segs, parts = [], [], []
        for i in range(rnd.integers(20, 40)):
            w = int(rnd.integers(0, 8))   # few wholes: many relations share one
            k = int(rnd.choice([0, 1, 2, _SORT_PARTS, _SORT_PARTS + 1, _SORT_PARTS + 3, 15]))
            head = list(range(8, 8 + min(k, _SORT_PARTS)))   # the same first parts: one run
            ps = sorted(set(head + rnd.choice(np.arange(8 + _SORT_PARTS, n), max(0, k - len(head)), replace=False).tolist()))
            if rnd.random() < 0.3 and want:   # a relation another rule gave already
                w, ps = list(want)[int(rnd.integers(0, len(want)))]
                ps = list(ps)
            wholes.append(w)
            segs += [i] * len(ps)
            parts += ps
            if ps:
                want.setdefault((w, tuple(ps)), f"rule {rule}")
        rel.add(f"rule {rule}", np.array(wholes, np.int64), np.array(segs, np.int64), np.array(parts, np.int64))
    got, names = rel.result()
    assert list(got) == sorted(want) and names == [want[r] for r in sorted(want)]
    assert any(len(p) > _SORT_PARTS for _, p in got) and len(set(names)) > 1


@pytest.mark.parametrize("seed", [3, 4])
def test_structure_primary_rules_and_facts_equal_the_loops(seed):
    """build_structure (array numbering, links, relations) gives the reference's cells,
    variables, values, relations and relation names; primary rules, row closure, facts and
    audiences give the reference loops' results, reasons included."""
    frames = _frames_with_links(seed)
    st, want = build_structure(frames), _reference(frames)
    # the text a mart's cells share is held as Enum codes (a byte a cell), read as the same text
    assert all(isinstance(st.cells[c].dtype, pl.Enum) for c in TEXT_COLUMNS)
    assert text_cells(st.cells).drop("partition_label").equals(want.cells)
    assert st.values == want.values and st.relations == want.relations and len(st.relations) > 100
    assert st.relation_names == want.relation_names
    assert (st.row_denominator, st.row_vars, st.var_rows) == (want.row_denominator, want.row_vars, want.var_rows)
    assert st.cells["var"].n_unique() < st.cells.height   # linked cells share a variable
    for mc, mn in ((6, 3), (10, 5)):
        got, exp = engine.primary_hidden(st, mc, mn), ref.primary_hidden(want, mc, mn)
        assert got == exp and {"primary row", "primary cell"} <= set(got.values())
        engine._close_rows(st, got)
        ref._close_rows(want, exp)
        assert got == exp
    assert engine._var_facts(st) == ref._var_facts(want)
    assert engine.audiences(st) == ref.audiences(want)
    assert list(engine.audiences(st)) == list(ref.audiences(want))


def test_a_relation_or_link_that_does_not_hold_is_named():
    frames = _frames_with_links(5)
    dm = frames["destination_measures"]
    broken = dm.with_columns(neet=pl.when(pl.col("level") == "trust").then(pl.col("neet") + 1)
                             .otherwise(pl.col("neet")))
    with pytest.raises(AssertionError, match="does not hold"):
        build_structure({**frames, "destination_measures": broken})
    nnk = frames["neet_not_known"].with_columns(excluded=pl.col("excluded") + 1, cohort=pl.col("cohort") + 1)
    with pytest.raises(AssertionError, match=r"link destination_measures\.cohort = neet_not_known\.cohort"):
        build_structure({**frames, "neet_not_known": nnk})


def test_two_rows_with_one_key_are_named():
    frames = _frames_with_links(5)
    nnk = frames["neet_not_known"]
    row = nnk.filter(pl.col("level") == "trust").head(1)
    with pytest.raises(AssertionError, match=r"mart neet_not_known has two rows with key 'trust\|~\|"):
        build_structure({**frames, "neet_not_known": pl.concat([nnk, row])})


def _union_find(n, edges):
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [find(i) for i in range(n)]


@pytest.mark.parametrize("seed", range(6))
def test_components_and_blocks_equal_the_union_find(seed):
    """_components (label propagation) ends where the union-find does, long chains and
    self-edges included; engine._block_of numbers blocks as gauss.blocks does."""
    rnd = random.Random(seed)
    n = rnd.choice([1, 7, 60, 400])
    edges = [(rnd.randrange(n), rnd.randrange(n)) for _ in range(rnd.randrange(0, 2 * n))]
    edges += [(i + 1, i) for i in range(0, n - 1, 2)] if seed % 2 else [(n - 1 - i, n - 2 - i) for i in range(n - 1)]
    a = np.array([x for x, _ in edges], np.int64)
    b = np.array([y for _, y in edges], np.int64)
    assert _components(n, a, b).tolist() == _union_find(n, edges)
    relations = []
    for _ in range(rnd.randrange(0, n)):
        parts = tuple(sorted(rnd.sample(range(n), rnd.randint(1, min(4, n)))))
        relations.append((rnd.randrange(n), parts))
    wholes = np.array([w for w, _ in relations], np.int64)
    lens = np.array([len(p) for _, p in relations], np.int64)
    parts = np.array([p for _, ps in relations for p in ps], np.int64)
    assert engine._block_of(n, wholes, lens, parts).tolist() == blocks(n, relations)[0]


def _keys(st, hidden, own=None):
    is_den, trustish, _ = engine._var_facts(st)
    _, first = np.unique(st.cells["var"].to_numpy(), return_index=True)
    ident = st.cells[first].select(pl.concat_str("mart", "row_key", "measure", separator="|")).to_series().to_list()
    wholes = np.array([w for w, _ in st.relations], np.int64)
    lens = np.array([len(p) for _, p in st.relations], np.int64)
    parts = np.array([p for _, ps in st.relations for p in ps], np.int64)
    keyer = engine._BlockKeys(ident, st.values, hidden, is_den, trustish, wholes, lens, parts, (500, True))
    block_of = blocks(len(st.values), st.relations)
    by_name = {}
    for b, rels in enumerate(block_of[1]):
        if rels:
            vs = [v for v in range(len(st.values)) if block_of[0][v] == b]
            names = frozenset(ident[v] for v in vs)
            by_name[names] = keyer.key(vs, rels, own(vs) if own else {})
    return by_name


def test_block_keys_hash_the_names_a_chunk_at_a_time_with_the_same_digests():
    """_BlockKeys makes and hashes the variables' names a chunk at a time (from the cells' mart,
    row_key and measure): the digests are those of all names at once."""
    st = build_structure(_frames_with_links(3))
    hidden = engine.primary_hidden(st)
    is_den, trustish, _ = engine._var_facts(st)
    _, first = np.unique(st.cells["var"].to_numpy(), return_index=True)
    names = st.cells.select("mart", "row_key", "measure")[first]
    ident = text_cells(names).select(pl.concat_str("mart", "row_key", "measure", separator="|")).to_series()
    wholes, lens, parts = engine._arrays(st.relations)
    args = (st.values, hidden, is_den, trustish, wholes, lens, parts, (500, True))
    whole = engine._BlockKeys(ident, *args, chunk=len(st.values))   # one chunk: all names at once
    assert len(st.values) > 100 and whole.state.any()
    for got in (engine._BlockKeys(names, *args, chunk=7), engine._BlockKeys(ident.to_list(), *args, chunk=64)):
        assert np.array_equal(got.state, whole.state) and np.array_equal(got.ident, whole.ident)
        assert np.array_equal(got.rel, whole.rel)


def test_block_keys_follow_the_cells_not_their_numbers():
    """A block's key is the same when only variable numbers shift (a row added elsewhere), and
    changes with a value, a primary reason or who knows which cells."""
    base = neet_risk_rates(pupils(7))
    y2 = neet_risk_rates(pupils(8)).with_columns(leaving_year=pl.lit("2025-26"))
    y0 = neet_risk_rates(pupils(9, sizes=(12, 5))).with_columns(leaving_year=pl.lit("2023-24"))
    st1, st2 = build_structure({"neet_risk_rates": pl.concat([base, y2])}), \
        build_structure({"neet_risk_rates": pl.concat([y0, base, y2])})
    assert len(st2.values) > len(st1.values)
    k1 = _keys(st1, engine.primary_hidden(st1))
    k2 = _keys(st2, engine.primary_hidden(st2))
    shared = set(k1) & set(k2)
    assert len(shared) == len(k1) == 4 and all(k1[s] == k2[s] for s in shared)   # numbers shifted, keys not
    h = engine.primary_hidden(st1)
    v = next(v for v in range(len(st1.values)) if v not in h)
    k3 = _keys(st1, {**h, v: "primary cell"})
    assert sum(k1[s] != k3[s] for s in k1) == 1               # only the block holding v
    k4 = _keys(st1, h, own=lambda vs: {"academy X": vs[:3]})
    assert all(k1[s] != k4[s] for s in k1)


def _same(got, want):
    return got is not None and got[0] == want[0] and got[1].tolist() == list(want[1])


def test_block_cache_keeps_prunes_and_starts_afresh_when_unreadable(tmp_path, caplog):
    path = tmp_path / "disclosure-cache.sqlite"
    A = (["primary cell", "secondary"], [0, 1, 2, 0, 0, 1])
    B = ([], [0, 0, 0])
    C = (["secondary (row)"], [1])
    c = engine.BlockCache(path)
    assert c.get("a") is None
    c["a"], c["b"] = A, B
    c.save()
    c.close()
    c = engine.BlockCache(path)
    assert _same(c.get("a"), A) and _same(c.get("b"), B)
    c.save()        # nothing new: both used, both kept
    c.close()
    c = engine.BlockCache(path)
    assert _same(c.get("b"), B)
    c["c"] = C
    c.save()        # "a" not used by this run: deleted
    c.close()
    with sqlite3.connect(path) as con:
        assert sorted(k for (k,) in con.execute("select key from decisions")) == ["b", "c"]
        con.execute("update decisions set hidden = x'00ff' where key = 'b'")   # a damaged entry
    c = engine.BlockCache(path)
    with caplog.at_level(logging.WARNING):
        assert c.get("b") is None and "entry unreadable" in caplog.text
    assert _same(c.get("c"), C)
    c["d"] = (["secondary"], [0, 2])   # a code without a reason: unreadable, not misread
    c.save()
    c.close()
    assert engine.BlockCache(path).get("d") is None
    # a corrupt file, or the JSON cache of earlier versions at this path: a warning, then afresh
    for junk in (b"\x00garbage" * 100, b'{"k": {"hidden": []}}'):
        path.write_bytes(junk)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            c = engine.BlockCache(path)
        assert "unreadable" in caplog.text and c.get("k") is None
        c["k"] = B
        c.save()
        c.close()
        assert _same(engine.BlockCache(path).get("k"), B)
    # the whole-file JSON cache beside it (earlier versions' name) is removed
    legacy = tmp_path / "disclosure-cache.json"
    legacy.write_text("{}")
    engine.BlockCache(path).close()
    assert not legacy.exists()


def test_a_run_with_a_damaged_cache_gives_the_cold_result(tmp_path):
    """Every cache entry damaged: each block is recomputed and the result equals a cold run."""
    frames = {"neet_risk_rates": pl.concat([neet_risk_rates(pupils(7)),
                                            neet_risk_rates(pupils(8)).with_columns(leaving_year=pl.lit("2025-26"))])}
    key = ["mart", "row_key", "measure", "hidden", "reason"]
    path = tmp_path / "c.sqlite"
    cold = engine.run(frames)
    first = engine.run(frames, cache_path=path)
    with sqlite3.connect(path) as con:
        n = con.execute("select count(*) from decisions").fetchone()[0]
        con.execute("update decisions set hidden = x'0102'")
    assert n == first.stats["blocks"] == 4
    again = engine.run(frames, cache_path=path)
    assert again.stats.get("cached_blocks", 0) == 0
    assert again.cells.select(key).equals(cold.cells.select(key)) and cold.cells["hidden"].sum() > 0
    assert engine.run(frames, cache_path=path).stats["cached_blocks"] == 4


def _random_relations(rnd: random.Random, n: int, m: int):
    """m true relations over n non-negative counts: wholes summing random parts (a part may be
    listed twice, a whole may be a part elsewhere, zeros are common)."""
    values = [rnd.choice([0, 0, 0, 1, 2, 3, 7, 20]) for _ in range(n)]
    relations = []
    for _ in range(m):
        parts = [rnd.randrange(n) for _ in range(rnd.randint(1, 5))]
        w = n
        values.append(sum(values[p] for p in parts))
        n += 1
        relations.append((w, tuple(sorted(parts))))
        if rnd.random() < 0.3:   # a whole reused as a part
            parts2 = (w, rnd.randrange(n))
            values.append(sum(values[p] for p in parts2))
            relations.append((n, tuple(sorted(parts2))))
            n += 1
    return relations, values


@pytest.mark.parametrize("seed", range(8))
def test_compiled_interval_bounds_equal_the_attacks(seed):
    """intervals.BlockIntervals gives attack.bounds' lo/hi for every unknown cell: from scratch,
    from a director's fixpoint with cells newly known, with newly known cells and no base, with
    nothing unknown, and on a block of 2,000+ relations (where attack sweeps instead)."""
    from pipelines.lib.disclosure.attack import INF, bounds, index_relations
    from pipelines.lib.disclosure.intervals import INF as KINF, BlockIntervals
    rnd = random.Random(seed)
    relations, values = _random_relations(rnd, rnd.choice([3, 12, 40]), rnd.choice([2, 15, 60]))
    if seed == 7:
        relations, values = _random_relations(rnd, 300, 2100)
    n = len(values)
    rel_of = index_relations(relations)
    vs = list(range(n))
    iv = BlockIntervals(relations, list(range(len(relations))), vs, values)
    pinned_any = False

    def same(unknown, base=None, newly=None, kbase=None):
        lo, hi = bounds(relations, values, unknown, rel_of, base, newly)
        klo, khi = iv.bounds(iv.mask(unknown), kbase, None if newly is None else iv.mask(newly))
        for v in unknown:
            assert klo[v] == lo[v] and (khi[v] == hi[v] or (hi[v] == INF and khi[v] >= KINF)), (v, lo[v], hi[v])
        assert iv.pinned(iv.mask(unknown), kbase, None if newly is None else iv.mask(newly)) == \
            {v for v in unknown if lo[v] == hi[v]}
        return (lo, hi), (klo, khi)

    for _ in range(4):
        H = {v for v in vs if rnd.random() < 0.6}
        base, kbase = same(H)
        pinned_any |= any(base[0][v] == base[1][v] for v in H)
        known = {v for v in H if rnd.random() < 0.3}
        same(H - known, base, H & known, kbase)
        same(set(vs) - known, newly=known)
        same(set())
    assert pinned_any or seed in (0, 1)   # most cases pin something: the rules are exercised


def test_block_cache_writes_as_it_goes_and_keeps_it_only_when_saved(tmp_path):
    """Decisions and partitions go to the file as they are made (none held until the run ends),
    in one transaction: a run that ends without save (failed, killed) leaves the previous state."""
    path = tmp_path / "disclosure-cache.sqlite"
    A, B = (["secondary"], [0, 1]), ([], [0, 0, 0])
    cells = pl.DataFrame({"mart": ["m"], "row_key": ["r"], "measure": ["x"], "measure_order": [0], "value": [4],
                          "hidden": [False], "reason": [None]}, schema=engine.OUTPUT_SCHEMA)
    c = engine.BlockCache(path)
    c["a"] = A
    c.save()
    c.close()

    def stored(con):
        return (sorted(k for (k,) in con.execute("select key from decisions")),
                sorted(k for (k,) in con.execute("select label from partitions")))
    for save in (False, True):
        c = engine.BlockCache(path)
        c.reuse_partitions({}, {})
        assert _same(c.get("a"), A)
        c["b"] = B
        c.store_partition("leaving_year=2024-25", "d1", cells, ["b"])
        assert stored(c.con) == (["a", "b"], ["leaving_year=2024-25"])   # in the file, not in memory
        with sqlite3.connect(path) as other:
            assert stored(other) == (["a"], [])                        # not committed
        if save:
            c.save()
        c.close()
        with sqlite3.connect(path) as con:
            assert stored(con) == ((["a", "b"], ["leaving_year=2024-25"]) if save else (["a"], []))
    c = engine.BlockCache(path)
    got, reused = c.reuse_partitions({"leaving_year=2024-25": "d1"}, {"leaving_year=2024-25": 1})
    assert reused == ["leaving_year=2024-25"] and got[0].equals(cells)
    c.close()
