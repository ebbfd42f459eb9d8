"""A partition's cells reach the sink (int_disclosure__cells' store) and the cache in slices of
engine.STORE_SLICE_CELLS, made text one slice at a time: with tiny slices the sink gets exactly
the cells one slice gives, the cache reads them back, and the model writes every slice of a
partition (emptying its old rows once, not once a slice)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.lib.disclosure import engine
from tests.disclosure.test_partitions import _frames

MODEL = Path(__file__).resolve().parents[2] / "dbt_project/models/intermediate/disclosure/int_disclosure__cells.py"
SLICE = 7


def _sunk(tmp_path, name: str, frames: dict, **kw) -> tuple[list[tuple[str, str, pl.DataFrame]], engine.Result]:
    calls = []
    res = engine.run(frames, cache_path=tmp_path / f"{name}.sqlite", by_partition=True,
                     on_partition=lambda label, digest, cells: calls.append((label, digest, cells)), **kw)
    return calls, res


def _joined(calls) -> dict[str, pl.DataFrame]:
    """label -> its slices one after another; a label's slices come together."""
    labels = [label for label, _, _ in calls]
    order = [label for i, label in enumerate(labels) if i == 0 or labels[i - 1] != label]
    assert len(order) == len(set(order)), f"a partition's slices interleaved with another's: {order}"
    return {label: pl.concat([c for lb, _, c in calls if lb == label]) for label in order}


def test_tiny_slices_give_the_sink_exactly_the_cells_of_one_slice(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "BATCH_CELLS", 0)
    frames = _frames()
    # gathered (no sink): each partition's cells made text whole, in the order the sink gets them
    cold = engine.run(frames, cache_path=tmp_path / "cold.sqlite", by_partition=True, written={}).cells
    want = {label: g.drop("partition_label", "partition_digest")
            for (label,), g in cold.partition_by("partition_label", as_dict=True, maintain_order=True).items()}
    whole, _ = _sunk(tmp_path, "whole", frames, written={})
    assert len(whole) == 3   # one call a partition (each under STORE_SLICE_CELLS)
    monkeypatch.setattr(engine, "STORE_SLICE_CELLS", SLICE)
    sliced, _ = _sunk(tmp_path, "sliced", frames, written={})
    assert all(0 < c.height <= SLICE and c.schema == pl.Schema(engine.OUTPUT_SCHEMA) for _, _, c in sliced)
    assert len(sliced) > 3 * 10
    assert {label: d for label, d, _ in sliced} == {label: d for label, d, _ in whole} == \
        dict(cold.select("partition_label", "partition_digest").unique().iter_rows())
    got = _joined(sliced)
    assert sorted(got) == sorted(want) and _joined(whole).keys() == got.keys()
    assert all(_joined(whole)[label].equals(want[label]) for label in want)
    for label in want:   # the same rows in the same order: no cell lost, doubled or moved at a boundary
        assert got[label].equals(want[label]), label

    # the cache written by the sliced run: a second run reuses every partition, and a partition
    # the table lacks is read back from it, in slices, with the same cells
    calls, res = _sunk(tmp_path, "sliced", frames, written={})
    assert res.stats["partitions_reused"] == res.stats["partitions"] == 3
    again = _joined(calls)
    assert sorted(again) == sorted(want) and all(again[label].equals(want[label]) for label in want)
    # and gathered (no sink), the same cells as the cold run's
    warm = engine.run(frames, cache_path=tmp_path / "sliced.sqlite", by_partition=True, written={}).cells
    assert warm.equals(cold)


class _Ref:
    """A mart as the model reads it (no rows: the engine is a stand-in here)."""
    columns: list[str] = []

    def select(self, *columns):
        return self

    def pl(self) -> pl.DataFrame:
        return pl.DataFrame()


class _Config(dict):
    def __call__(self, **kw) -> None:
        pass


class _Dbt:
    def __init__(self, incremental: bool) -> None:
        self.config = _Config(min_cohort=engine.MIN_COHORT, min_count=engine.MIN_COUNT)
        self.is_incremental = incremental
        self.this = "main.cells"

    def ref(self, name: str) -> _Ref:
        return _Ref()


def _cells(n: int, start: int) -> pl.DataFrame:
    return pl.DataFrame({"mart": ["destination_measures"] * n, "row_key": [f"A{i}" for i in range(start, start + n)],
                         "measure": ["leavers"] * n, "measure_order": [1] * n, "value": list(range(start, start + n)),
                         "hidden": [i % 3 == 0 for i in range(n)], "reason": [None] * n},
                        schema=engine.OUTPUT_SCHEMA)


@pytest.mark.parametrize("incremental", [False, True])
def test_the_model_writes_every_slice_of_a_partition(tmp_path, monkeypatch, incremental):
    """int_disclosure__cells' store given a partition in three slices: the table holds all three
    (a rebuild empties the partition's old rows before its first slice only), others untouched."""
    spec = importlib.util.spec_from_file_location("int_disclosure__cells_slices", MODEL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    slices = [_cells(5, 0), _cells(5, 5), _cells(2, 10)]

    class _Res:
        stats = {"partitions_dropped": []}

    def run(frames, on_partition, **kw):   # the engine: one changed partition, in slices
        for cells in slices:
            on_partition("leaving_year=2025-26", "new", cells)
        return _Res()
    monkeypatch.setattr(mod, "run", run)
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_CACHE", str(tmp_path / "cache.sqlite"))
    con = duckdb.connect()
    try:
        if incremental:   # the table as a previous build left it: this partition stale, another held
            old = pl.concat([_cells(20, 100).with_columns(partition_label=pl.lit("leaving_year=2025-26"),
                                                          partition_digest=pl.lit("old")),
                             _cells(4, 200).with_columns(partition_label=pl.lit("leaving_year=2024-25"),
                                                         partition_digest=pl.lit("kept"))])
            con.execute("create table main.cells as select * from old")
        rel = mod.model(_Dbt(incremental), con)
        table = "main.cells" if incremental else "got"
        if not incremental:
            con.execute("create table got as select * from rel")
        got = pl.from_arrow(con.execute(f"select * from {table}").arrow())
    finally:
        con.close()
    new = got.filter(pl.col("partition_label") == "leaving_year=2025-26")
    assert new.drop("partition_label", "partition_digest").sort("value").equals(pl.concat(slices))
    assert set(new["partition_digest"]) == {"new"}
    if incremental:
        assert got.filter(pl.col("partition_label") == "leaving_year=2024-25")["row_key"].to_list() == \
            [f"A{i}" for i in range(200, 204)]
