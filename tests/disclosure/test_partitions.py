"""The engine's partitions: no relation crosses one (by construction and on the data), and a run
that reuses unchanged partitions from the cache gives exactly the cold run's cells."""
from __future__ import annotations

import dataclasses
import random
import sqlite3

import polars as pl
import pytest

from pipelines.lib.disclosure import engine
from pipelines.lib.disclosure.structure import (LINKS, MARTS, Link, build_structure, check_partitions,
                                                partition_labels)
from tests.disclosure.test_engine import destination_measures, neet_not_known, neet_risk_rates, pupils

KEY = ["mart", "row_key", "measure"]
OUT = list(engine.OUTPUT_COLUMNS)


def _pupils(seed: int) -> list[dict]:
    rnd = random.Random(seed)
    mix = ["school_sixth_form"] * 6 + ["further_education"] * 5 + ["apprenticeship", "neet", "not_known"]
    return [{"urn": urn, "dest": rnd.choice(mix), "sex": rnd.choice(["Female", "Male"]),
             "dis": rnd.choice(["Disadvantaged", "Not disadvantaged"])}
            for urn, n in (("A1", 50), ("A2", 23), ("A3", 8)) for _ in range(n)]


def _frames(seed: int = 5, years=("2023-24", "2024-25", "2025-26"), flip: str | None = None) -> dict:
    """destination_measures + neet_not_known (linked) and neet_risk_rates over three leaving years;
    `flip`: in that year one pupil of A3 changes destination (one corrected return)."""
    dms, nrrs = [], []
    for k, year in enumerate(years):
        rows = _pupils(seed + k)
        if year == flip:
            rows[-1] = {**rows[-1], "dest": "neet" if rows[-1]["dest"] != "neet" else "further_education"}
        dms.append(destination_measures(rows).with_columns(leaving_year=pl.lit(year)))
        nrrs.append(neet_risk_rates(pupils(seed + k)).with_columns(leaving_year=pl.lit(year)))
    dm = pl.concat(dms)
    return {"destination_measures": dm, "neet_not_known": neet_not_known(dm), "neet_risk_rates": pl.concat(nrrs)}


def _sorted(cells: pl.DataFrame) -> pl.DataFrame:
    return cells.select(OUT).sort(KEY)


def test_no_relation_of_the_marts_crosses_a_partition():
    check_partitions()
    bad = dataclasses.replace(MARTS[0], rollups=tuple(
        dataclasses.replace(r, match=tuple(m for m in r.match if m != ("p.leaving_year", "w.leaving_year")))
        for r in MARTS[0].rollups))
    with pytest.raises(AssertionError, match="does not match parts to wholes on partition column leaving_year"):
        check_partitions((bad,) + MARTS[1:])
    loose = Link("destination_measures", "neet_not_known", LINKS[0].measures,
                 tuple(m for m in LINKS[0].match if m[0] != "a.leaving_year"))
    with pytest.raises(AssertionError, match="does not match on partition column leaving_year"):
        check_partitions(MARTS, (loose,))


def test_the_data_check_refuses_a_relation_or_link_across_partitions():
    """build_structure checks on the data too: a whole and its parts, and linked cells, share a
    partition label; and the polars labels equal the SQL labels of the cells."""
    import numpy as np

    from pipelines.lib.disclosure.structure import _Relations
    frames = _frames(years=("2024-25",))
    st = build_structure(frames)
    assert st.cells["partition_label"].unique().to_list() == ["leaving_year=2024-25"]
    for spec in MARTS:
        if spec.name in frames:
            assert set(partition_labels(spec, frames[spec.name])) == {"leaving_year=2024-25"}
    rel = _Relations(np.array([5, 2, 3], np.int64))
    rel.add("trust total", np.array([0]), np.array([0, 0]), np.array([1, 2]))
    var = np.arange(3, dtype=np.int64)
    rel.check_within(np.array([0, 0, 0]), var)
    with pytest.raises(AssertionError, match="relation 'trust total' joins cells of two partitions"):
        rel.check_within(np.array([0, 0, 1]), var)
    with pytest.raises(AssertionError, match="a link joins cells of two partitions"):
        rel.check_within(np.array([0, 0, 1, 0]), np.array([0, 1, 2, 2]))


def test_a_partition_run_equals_the_cold_run_and_recomputes_only_what_changed(tmp_path):
    path = tmp_path / "cache.sqlite"
    frames = _frames()
    cold = engine.run(frames)
    first = engine.run(frames, cache_path=path, by_partition=True)
    assert first.stats["partitions"] == 3 and first.stats["partitions_reused"] == 0
    assert _sorted(first.cells).equals(_sorted(cold.cells)) and cold.cells["hidden"].sum() > 20

    again = engine.run(frames, cache_path=path, by_partition=True)
    assert again.stats == {"partitions": 3, "partitions_reused": 3}     # no structure built at all
    assert _sorted(again.cells).equals(_sorted(cold.cells))

    changed = _frames(flip="2024-25")
    cold2 = engine.run(changed)
    diff = _sorted(cold2.cells).join(_sorted(cold.cells), on=KEY).filter(
        (pl.col("value") != pl.col("value_right")) | (pl.col("hidden") != pl.col("hidden_right")))
    assert diff["row_key"].str.contains("2024-25").all() and diff.height > 0
    third = engine.run(changed, cache_path=path, by_partition=True)
    assert third.stats["partitions_reused"] == 2 and third.stats["blocks"] > 0
    assert _sorted(third.cells).equals(_sorted(cold2.cells))
    with sqlite3.connect(path) as con:   # the old 2024-25 entry was replaced, nothing else is left over
        assert con.execute("select count(*) from partitions").fetchone()[0] == 3
    # and back: the first result again; in 2024-25 only the block the pupil is in is recomputed
    back = engine.run(frames, cache_path=path, by_partition=True)
    assert back.stats["partitions_reused"] == 2 and back.stats["cached_blocks"] == back.stats["blocks"] - 1 >= 1
    assert _sorted(back.cells).equals(_sorted(cold.cells))


def test_a_damaged_or_short_partition_entry_is_recomputed(tmp_path):
    path = tmp_path / "cache.sqlite"
    frames = _frames()
    cold = engine.run(frames)
    engine.run(frames, cache_path=path, by_partition=True)
    with sqlite3.connect(path) as con:
        con.execute("update partitions set cells = x'00ff' where label = 'leaving_year=2023-24'")
        good = con.execute("select cells from partitions where label = 'leaving_year=2024-25'").fetchone()[0]
        con.execute("update partitions set cells = ? where label = 'leaving_year=2025-26'", (good,))
    got = engine.run(frames, cache_path=path, by_partition=True)
    assert got.stats["partitions_reused"] == 1     # 2023-24 unreadable, 2025-26 holds another year's cells
    assert _sorted(got.cells).equals(_sorted(cold.cells))


def test_the_engine_digests_every_column_the_structure_reads_and_nothing_else(tmp_path):
    """A shown percentage's noise is no change; a column the structure reads is digested, and a
    structure that read a column the list missed would fail (build_structure sees only the list)."""
    from pipelines.lib.disclosure.structure import structure_columns
    spec = {m.name: m for m in MARTS}["neet_risk_rates"]
    assert {"counts_in_trust_totals", "level", "academy_urn", "pupils", "flagged"} <= set(structure_columns(spec))
    assert "breakdown_topic" not in structure_columns({m.name: m for m in MARTS}["destination_reconciliation_flows"])
    path = tmp_path / "cache.sqlite"
    frames = _frames()
    engine.run(frames, cache_path=path, by_partition=True)
    noisy = {**frames, "neet_risk_rates": frames["neet_risk_rates"].with_columns(flagged_pct=pl.lit(0.1) + 0.2)}
    assert engine.run(noisy, cache_path=path, by_partition=True).stats == {"partitions": 3, "partitions_reused": 3}
    # build_structure sees only the list: a column it reads but the list missed fails loudly
    cols = [c for c in frames["neet_risk_rates"].columns
            if c in structure_columns(spec) and c != "counts_in_trust_totals"]
    with pytest.raises(Exception, match="counts_in_trust_totals"):
        build_structure({"neet_risk_rates": frames["neet_risk_rates"].select(cols)})


def test_any_change_to_a_row_changes_its_partition_digest():
    """Every column given counts, not only keys and measures."""
    frames = _frames()
    present = [m for m in MARTS if m.name in frames]
    labels = {m.name: partition_labels(m, frames[m.name]) for m in present}
    base, expected = engine._partition_digests(present, frames, labels, "h")
    assert set(base) == {"leaving_year=2023-24", "leaving_year=2024-25", "leaving_year=2025-26"}
    nrr = frames["neet_risk_rates"]
    assert expected["leaving_year=2025-26"] == sum(
        frames[m.name].filter(pl.col("leaving_year") == "2025-26").height * len(m.measures) for m in present)
    # one academy row of 2025-26 stops counting in the trust totals: not a key, not a measure
    edited = {**frames, "neet_risk_rates": nrr.with_columns(
        counts_in_trust_totals=pl.when(pl.int_range(pl.len()) == nrr.with_row_index().filter(
            (pl.col("leaving_year") == "2025-26") & (pl.col("level") == "academy"))["index"][0])
        .then(pl.lit(False)).otherwise(pl.col("counts_in_trust_totals")))}
    got, _ = engine._partition_digests(present, edited, {m.name: partition_labels(m, edited[m.name])
                                                         for m in present}, "h")
    assert got["leaving_year=2025-26"] != base["leaving_year=2025-26"]
    assert got["leaving_year=2024-25"] == base["leaving_year=2024-25"]
    assert engine._partition_digests(present, frames, labels, "other engine")[0]["leaving_year=2024-25"] \
        != base["leaving_year=2024-25"]


def test_a_run_given_what_a_table_holds_returns_only_what_it_lacks(tmp_path):
    """engine.run(..., written=label -> digest): the partitions a table already holds with their
    current digest are left out (and not even read from the cache), a stale or missing one is
    returned whole, a label no longer present is listed to delete; the same cells as a cold run."""
    path = tmp_path / "cache.sqlite"
    frames = _frames()
    cold = _sorted(engine.run(frames).cells)
    full = engine.run(frames, cache_path=path, by_partition=True, written={})
    assert set(full.cells["partition_label"]) == {f"leaving_year={y}" for y in ("2023-24", "2024-25", "2025-26")}
    assert _sorted(full.cells.drop("partition_label", "partition_digest")).equals(cold)
    held = dict(full.cells.select("partition_label", "partition_digest").unique().iter_rows())
    assert len(set(held.values())) == 3

    again = engine.run(frames, cache_path=path, by_partition=True, written=held)
    assert again.cells.height == 0 and again.stats["partitions_held"] == 3 and again.stats["partitions_dropped"] == []

    stale = dict(held, **{"leaving_year=2024-25": "stale", "leaving_year=1999-00": "gone"})
    del stale["leaving_year=2023-24"]
    got = engine.run(frames, cache_path=path, by_partition=True, written=stale)
    assert set(got.cells["partition_label"]) == {"leaving_year=2023-24", "leaving_year=2024-25"}
    assert got.stats["partitions_held"] == 1 and got.stats["partitions_dropped"] == ["leaving_year=1999-00"]
    want = cold.filter(~pl.col("row_key").str.contains("2025-26"))
    assert _sorted(got.cells.drop("partition_label", "partition_digest")).equals(want) and want.height > 0
    assert dict(got.cells.select("partition_label", "partition_digest").unique().iter_rows()) == \
        {k: held[k] for k in ("leaving_year=2023-24", "leaving_year=2024-25")}

    # a changed year: recomputed and returned with its new digest, though the table held the old one
    changed = _frames(flip="2024-25")
    third = engine.run(changed, cache_path=path, by_partition=True, written=held)
    assert set(third.cells["partition_label"]) == {"leaving_year=2024-25"}
    assert third.cells["partition_digest"][0] != held["leaving_year=2024-25"]
    assert _sorted(third.cells.drop("partition_label", "partition_digest")).equals(
        _sorted(engine.run(changed).cells).filter(pl.col("row_key").str.contains("2024-25")))


def test_partitions_one_at_a_time_with_kept_workers_give_the_cold_result(tmp_path, monkeypatch):
    """A partition run builds and suppresses one partition at a time, its large blocks in worker
    processes started once and kept for every partition (each payload made as it is sent):
    exactly the cells of one cold run of all partitions together, in this process."""
    frames = _frames()
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_WORKERS", "1")
    cold = engine.run(frames)
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_WORKERS", "2")
    monkeypatch.setattr(engine, "POOL_FROM_VARS", 0)
    started, made = [], []
    real_get, real_add = engine._Workers.get, engine._Queue.add

    def get(self, n):
        if self.pool is None:
            started.append(n)
        return real_get(self, n)

    def add(self, size, make, done):
        def counted():
            made.append(size)
            return make()
        return real_add(self, size, counted, done)
    monkeypatch.setattr(engine._Workers, "get", get)
    monkeypatch.setattr(engine._Queue, "add", add)
    got = engine.run(frames, cache_path=tmp_path / "c.sqlite", by_partition=True)
    assert started == [2]                               # one set of workers for the three partitions
    assert len(made) == got.stats["blocks"] >= 3        # every block sent
    assert got.stats["partitions"] == 3 and not got.unresolved
    assert _sorted(got.cells).equals(_sorted(cold.cells))
    assert cold.cells["hidden"].sum() > 0


def test_audience_arrays_are_the_audiences():
    st = build_structure(_frames())
    a, b = engine.audiences(st), engine._audience_arrays(st)
    assert list(a) == list(b) and len(a) > 2
    assert all(b[k].tolist() == sorted(a[k]) for k in a)


def test_a_sink_gets_each_partition_once_with_exactly_its_cells_as_it_is_done(tmp_path, monkeypatch):
    """engine.run(..., on_partition=sink): the sink is called once per partition the result
    would hold (recomputed, or read back from the cache), with exactly that partition's rows of
    the gathered result, each before the next partition's structure is built (partitions too large
    to batch: BATCH_CELLS 0); nothing is gathered."""
    monkeypatch.setattr(engine, "BATCH_CELLS", 0)
    path = tmp_path / "cache.sqlite"
    frames = _frames()
    cold = engine.run(frames, cache_path=tmp_path / "cold.sqlite", by_partition=True, written={}).cells
    built, got = [], []
    real_build = engine.build_structure

    def build(fr):
        built.append(fr)
        return real_build(fr)
    monkeypatch.setattr(engine, "build_structure", build)

    def sink(label, digest, cells):
        assert cells.schema == pl.Schema(engine.OUTPUT_SCHEMA)
        got.append((label, len(built), cells.with_columns(partition_label=pl.lit(label),
                                                          partition_digest=pl.lit(digest))))
    res = engine.run(frames, cache_path=path, by_partition=True, written={}, on_partition=sink)
    labels = [f"leaving_year={y}" for y in ("2023-24", "2024-25", "2025-26")]
    assert [(label, n) for label, n, _ in got] == [(label, i + 1) for i, label in enumerate(labels)]
    assert res.cells.height == 0 and res.cells.schema == cold.schema
    for label, _, cells in got:
        assert cells.schema == cold.schema
        assert cells.sort(KEY).equals(cold.filter(pl.col("partition_label") == label).sort(KEY))

    # one corrected year: it is recomputed; another the table lacks is read back from the cache;
    # the one held with its digest is not sent
    changed = _frames(flip="2024-25")
    want = engine.run(changed, cache_path=tmp_path / "cold2.sqlite", by_partition=True, written={}).cells
    held = dict(cold.select("partition_label", "partition_digest").unique().iter_rows())
    del held["leaving_year=2023-24"]
    built.clear()
    got.clear()
    engine.run(changed, cache_path=path, by_partition=True, written=held, on_partition=sink)
    assert [(label, n) for label, n, _ in got] == [("leaving_year=2023-24", 0), ("leaving_year=2024-25", 1)]
    for label, _, cells in got:
        assert cells.sort(KEY).equals(want.filter(pl.col("partition_label") == label).sort(KEY))


def test_batches_are_runs_of_small_partitions_a_large_one_alone(monkeypatch):
    monkeypatch.setattr(engine, "BATCH_CELLS", 100)
    cells = {"a": 40, "b": 60, "c": 1, "d": 500, "e": 30, "f": 80}
    assert engine._batches(list("abcdef"), cells) == [["a", "b"], ["c"], ["d"], ["e"], ["f"]]
    monkeypatch.setattr(engine, "BATCH_CELLS", 0)
    assert engine._batches(list("abc"), cells) == [["a"], ["b"], ["c"]]


def test_small_partitions_batched_give_the_one_at_a_time_result_and_cache(tmp_path, monkeypatch):
    """Small changed partitions are built and suppressed together (one structure): the same
    cells as one partition at a time and as a cold run, the same cache entries (each partition's
    cells and block keys), and a corrected year is still recomputed alone, equal to a cold run."""
    built = []
    real_build = engine.build_structure

    def build(fr):
        built.append(fr)
        return real_build(fr)
    monkeypatch.setattr(engine, "build_structure", build)
    frames = _frames()
    cold = engine.run(frames)

    def entries(path):   # label, digest, cells, block keys (the seal: over the cells' bytes)
        import io
        import zlib
        with sqlite3.connect(path) as con:
            rows = sorted(con.execute("select label, digest, cells, blocks from partitions").fetchall())
        return [(label, digest, pl.read_ipc(io.BytesIO(cells)).rows(), zlib.decompress(blocks).split(b"\n")[1:])
                for label, digest, cells, blocks in rows]

    monkeypatch.setattr(engine, "BATCH_CELLS", 0)
    built.clear()
    one = engine.run(frames, cache_path=tmp_path / "one.sqlite", by_partition=True)
    assert len(built) == 3
    built.clear()
    monkeypatch.setattr(engine, "BATCH_CELLS", 10 ** 9)
    both = engine.run(frames, cache_path=tmp_path / "batched.sqlite", by_partition=True)
    assert len(built) == 1                                   # the three years in one structure
    assert _sorted(both.cells).equals(_sorted(one.cells)) and _sorted(both.cells).equals(_sorted(cold.cells))
    assert {k: v for k, v in both.stats.items() if "seconds" not in k} == \
        {k: v for k, v in one.stats.items() if "seconds" not in k}
    assert entries(tmp_path / "batched.sqlite") == entries(tmp_path / "one.sqlite")
    with sqlite3.connect(tmp_path / "batched.sqlite") as con:
        assert con.execute("select count(*) from decisions").fetchone()[0] == both.stats["blocks"] > 3

    changed = _frames(flip="2024-25")
    built.clear()
    third = engine.run(changed, cache_path=tmp_path / "batched.sqlite", by_partition=True)
    assert len(built) == 1 and third.stats["partitions_reused"] == 2
    built.clear()
    assert _sorted(third.cells).equals(_sorted(engine.run(changed).cells))
    # the blocks of the unchanged years were kept (their partitions reused): back to the first
    # data, only 2024-25 is rebuilt and all but the corrected block come from the cache
    back = engine.run(frames, cache_path=tmp_path / "batched.sqlite", by_partition=True)
    assert back.stats["partitions_reused"] == 2 and back.stats["cached_blocks"] == back.stats["blocks"] - 1 >= 1
    assert _sorted(back.cells).equals(_sorted(cold.cells))
