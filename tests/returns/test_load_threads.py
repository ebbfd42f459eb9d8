"""The load's shortcuts give what the plain way gives: rows of many files tagged at once, paths made
relative a directory at a time, feedback written on threads (and what it says read without reading it back)."""
from __future__ import annotations

import os

import polars as pl
import pytest

from pipelines.lib.intake.read import read_ahead
from pipelines.lib.intake.store import RelPaths, relpath
from pipelines.lib.returns import store
from pipelines.lib.returns.context import build_context
from pipelines.lib.returns.reader import stack_files
from pipelines.lib.returns.submit import FeedbackWriter, evaluate, feedback_info, write_feedback
from tests.returns.helpers import corpus, load, query, write

C = corpus()
Y = C.YEAR


def _tagged_one_by_one(frames, key, how="diagonal"):
    return pl.concat([f.with_columns(pl.lit(k, pl.Int32).alias(key)) for k, f in enumerate(frames)], how=how)


def test_stack_files_tags_rows_as_one_column_per_file_would():
    a = pl.DataFrame({"x": ["1", "2"], "y": ["a", "b"]})
    b = pl.DataFrame({"y": ["c"], "z": ["q"]})
    empty = pl.DataFrame(schema={"x": pl.Utf8, "y": pl.Utf8})
    for frames in ([a, b, empty], [b, a], [empty, a], [a]):
        got, want = stack_files(frames, "k"), _tagged_one_by_one(frames, "k")
        assert got.schema == want.schema and got.equals(want)
    same = [pl.DataFrame({"n": [1]}), pl.DataFrame({"n": [2.5, 3.0]})]
    assert stack_files(same, "k", how="vertical_relaxed").equals(_tagged_one_by_one(same, "k", "vertical_relaxed"))


def test_relpaths_matches_relpath_with_symlinks_and_outside_the_root(tmp_path):
    root = tmp_path / "data"
    (root / "raw" / "a").mkdir(parents=True)
    real = write(root / "raw" / "a" / "f.csv", b"x")
    (root / "raw" / "link").symlink_to(root / "raw" / "a")                 # a linked directory
    (root / "raw" / "a" / "g.csv").symlink_to(real)                          # a linked file
    outside = write(tmp_path / "elsewhere" / "h.csv", b"y")
    (root / "raw" / "a" / "out.csv").symlink_to(outside)                     # a file linked from outside
    paths = [real, root / "raw" / "link" / "f.csv", root / "raw" / "a" / "g.csv", root / "raw" / "a" / "out.csv",
             outside, root / "raw" / "a" / "not-yet.feedback.html", root / "raw" / "a" / "..", tmp_path / "x",
             root / "raw" / ".." / "raw" / "link" / "g.csv", root / "raw" / "link" / "gone" / "f.csv"]
    rel = RelPaths(root)
    for path in paths * 2:                    # the second time from the directory cache
        assert rel(path) == relpath(path, root), path
    assert rel(root / "raw" / "link" / "f.csv") == "raw/a/f.csv"


def test_read_ahead_keeps_the_order_and_raises_a_failure():
    assert list(read_ahead([(i,) for i in range(30)], lambda i: i * i, ahead=4)) == [i * i for i in range(30)]

    def fail(i):
        if i == 5:
            raise ValueError("five")
        return i
    with pytest.raises(ValueError, match="five"):
        list(read_ahead([(i,) for i in range(10)], fail))


def _info(data, name, content):
    ctx = build_context(data, "100001", Y, "R1", None)
    result = evaluate(content, name, ctx)
    from datetime import datetime, timezone
    return feedback_info(name=name, ctx=ctx, result=result, status=result.status,
                         submitted_at=datetime(2025, 1, 2, tzinfo=timezone.utc), submitted_by="t", sha="ab" * 32)


def test_feedback_writer_writes_what_write_feedback_writes_and_returns_the_sidecar(data):
    content = C.to_csv(C.pupils())
    two = write(data.returns / "100001" / Y / "R1" / "two.csv", content)
    info = _info(data, "two.csv", content)
    write_feedback(two, info, data.root, durable=False)
    plain = {sfx: store.sidecar(two, sfx).read_bytes() for sfx in (store.FEEDBACK_JSON, store.FEEDBACK_HTML)}
    for sfx in plain:
        store.sidecar(two, sfx).unlink()
    writer = FeedbackWriter(data.root, data.root.resolve())
    meta = writer.write(two, info)
    writer.close()
    assert meta == store.read_sidecar(two)
    assert {sfx: store.sidecar(two, sfx).read_bytes() for sfx in plain} == plain
    before = os.stat(store.sidecar(two, store.FEEDBACK_HTML)).st_mtime_ns
    again = FeedbackWriter(data.root)
    again.write(two, info)          # same content: not written again
    again.close()
    assert os.stat(store.sidecar(two, store.FEEDBACK_HTML)).st_mtime_ns == before


def test_feedback_writer_close_raises_a_write_that_failed(data):
    content = C.to_csv(C.pupils())
    f = write(data.returns / "100001" / Y / "R1" / "one.csv", content)
    store.sidecar(f, store.FEEDBACK_HTML).mkdir()        # the report cannot be written over a directory
    writer = FeedbackWriter(data.root)
    writer.write(f, _info(data, "one.csv", content))
    with pytest.raises(OSError):
        writer.close()


def test_a_load_writes_every_files_feedback_before_it_returns(data):
    for k, urn in enumerate(["100001", "100002"]):
        write(data.returns / urn / Y / "R1" / f"r{k}.csv", C.to_csv(C.pupils(estab=4001 + k)))
    write(data.returns / "100002" / Y / "R1" / "r2.csv", b"not,a,return\n1,2,3\n")     # rejected
    res = load(data, Y, "R1")
    assert len(res.quarantined) == 1
    got = query(data, "select file_path, status, feedback_path from raw.return_submissions order by all")
    assert [(path.split("/")[0], status) for path, status, _ in got] == [
        ("quarantine", "rejected"), ("raw", "accepted"), ("raw", "accepted")]
    for path, status, feedback in got:
        meta = store.read_sidecar(data.root / path)
        assert meta["status"] == status and meta["feedback_path"] == feedback and (data.root / feedback).is_file()


def test_a_feedback_write_that_fails_in_the_one_transaction_load_leaves_that_partition_alone(tmp_path, monkeypatch):
    """The run's writer fails at the commit (not at the file): the load is redone partition by partition, where
    only the partition of the file whose feedback cannot be written fails; the others load."""
    from pipelines import runner
    from pipelines.config import dbt_env, paths
    from pipelines.lib.generate import generate_trust
    generate_trust(tmp_path / "d", academies=3, years=2, seed=7, with_careers=False)
    p = paths(tmp_path / "d")
    dbt_env(p)
    p.warehouse_dir.mkdir(parents=True, exist_ok=True)
    monkeypatch.delenv("DESTINATIONS_INGEST_TRANSACTION_ROWS", raising=False)
    todo = runner.landed_return_partitions(p)
    year, rnd = todo[0]
    broken = next(f for f in sorted(p.returns.glob(f"*/{year}/{rnd}/*")) if store.is_data_file(f))
    store.sidecar(broken, store.FEEDBACK_HTML).mkdir()
    lines, problems = [], []
    runner._ingest_returns(p, todo, lines.append, problems, full=True)
    assert any("one-transaction load failed" in line for line in lines)
    assert len(problems) == 1 and problems[0].startswith(f"returns {year} {rnd}:")
    loaded = {tuple(r) for r in query(p, "select distinct leaving_year, round from raw.destination_returns")}
    assert loaded == set(todo) - {(year, rnd)}
