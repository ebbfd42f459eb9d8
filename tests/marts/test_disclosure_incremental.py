"""int_disclosure__cells is incremental by engine partition: a rebuild rewrites only the
partitions whose digest the table does not hold (or holds partly), deletes partitions no longer
present, and leaves a partition it holds with its current digest alone."""
from __future__ import annotations

import os

import duckdb

from tests.marts.helpers import query, run_dbt

CELLS = "intermediate.int_disclosure__cells"


def _rows(warehouse):
    return query(warehouse, f"select * from {CELLS}")


def _diff(warehouse, table_a: str, table_b: str) -> tuple[int, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return tuple(con.execute(f"select count(*) from (select * from {a} except all select * from {b})").fetchone()[0]
                     for a, b in ((table_a, table_b), (table_b, table_a)))
    finally:
        con.close()


def _keep_a_copy(warehouse, name: str, tmp_path, monkeypatch) -> duckdb.DuckDBPyConnection:
    """A copy of the cells as incr.<name>, a cache of this test's own for the rebuilds; an open
    connection for the test's edits."""
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_CACHE", str(tmp_path / "disclosure-cache.sqlite"))
    con = duckdb.connect(str(warehouse))
    con.execute("create schema if not exists incr")
    con.execute(f"create or replace table incr.{name} as select * from {CELLS}")
    return con


def test_a_rebuild_rewrites_only_the_partitions_that_changed(demo_warehouse, tmp_path, monkeypatch):
    warehouse, _ = demo_warehouse
    con = _keep_a_copy(warehouse, "before", tmp_path, monkeypatch)
    try:
        # by shown cells, most first: the partition left alone needs some
        labels = [r[0] for r in con.execute(f"select partition_label from {CELLS} group by 1 "
                                            f"order by count(*) filter (where not hidden) desc, 1").fetchall()]
    finally:
        con.close()
    assert len(labels) >= 3 and any(x.startswith("leaving_year=") for x in labels), labels
    run_dbt(warehouse, "run", "--select", "int_disclosure__cells")    # fills the cache; writes nothing new
    assert _diff(warehouse, "incr.before", CELLS) == (0, 0)

    held, stale, lost = labels[0], labels[1], labels[-1]
    con = duckdb.connect(str(warehouse))
    try:
        n_stale = con.execute(f"update {CELLS} set hidden = not hidden, partition_digest = 'stale' "
                              f"where partition_label = ?", [stale]).fetchone()[0]
        n_lost = con.execute(f"delete from {CELLS} where partition_label = ?", [lost]).fetchone()[0]
        # a partition the table holds with its current digest is trusted: this edit must survive
        n_held = con.execute(f"update {CELLS} set reason = 'edited by the test' "
                             f"where partition_label = ? and not hidden", [held]).fetchone()[0]
        con.execute(f"insert into {CELLS} select mart, row_key || '|gone', measure, measure_order, value, hidden, "
                    f"reason, 'leaving_year=1999-00', 'gone' from {CELLS} where partition_label = ? limit 5", [held])
    finally:
        con.close()
    assert n_stale > 0 and n_lost > 0 and n_held > 0

    run_dbt(warehouse, "run", "--select", "int_disclosure__cells")
    after = _rows(warehouse)
    assert "leaving_year=1999-00" not in set(after["partition_label"])          # dropped partition deleted
    assert after.filter(after["reason"] == "edited by the test").height == n_held   # held partition untouched
    con = duckdb.connect(str(warehouse))
    try:
        rest = con.execute(f"select count(*) from (select * from {CELLS} where partition_label <> ? except all "
                           f"select * from incr.before where partition_label <> ?)", [held, held]).fetchone()[0]
        back = con.execute(f"select count(*) from (select * from incr.before where partition_label <> ? except all "
                           f"select * from {CELLS} where partition_label <> ?)", [held, held]).fetchone()[0]
        assert (rest, back) == (0, 0)          # the stale and the lost partitions rewritten as they were
        # restore the held partition for the other tests of this session: its digest made stale, rebuilt
        con.execute(f"update {CELLS} set partition_digest = 'stale' where partition_label = ?", [held])
    finally:
        con.close()
    run_dbt(warehouse, "run", "--select", "int_disclosure__cells")
    assert _diff(warehouse, "incr.before", CELLS) == (0, 0)


def test_a_table_from_before_partitions_is_rewritten_whole(demo_warehouse, tmp_path, monkeypatch):
    """A warehouse built by an earlier version (no partition columns, and some stale cells) is
    upgraded by the next build: every partition written, the columns added, nothing left over."""
    warehouse, _ = demo_warehouse
    con = _keep_a_copy(warehouse, "before_old", tmp_path, monkeypatch)
    try:
        con.execute(f"create or replace table {CELLS} as select * exclude (partition_label, partition_digest) "
                    f"from incr.before_old")
        con.execute(f"update {CELLS} set hidden = not hidden where measure_order = 0")
    finally:
        con.close()
    run_dbt(warehouse, "run", "--select", "int_disclosure__cells")
    assert _diff(warehouse, "incr.before_old", CELLS) == (0, 0)


FAIL_AFTER_ONE_PARTITION = '''
from pipelines.lib.disclosure import engine
_run = engine.run


def run(*args, on_partition=None, **kwargs):   # the model's writes of one partition, then a failure
    def once(label, digest, cells):
        on_partition(label, digest, cells)
        raise RuntimeError("disclosure test: failed after writing a partition")
    return _run(*args, on_partition=once, **kwargs)


engine.run = run
'''


def test_a_rebuild_that_fails_after_writing_a_partition_leaves_the_table_as_it_was(demo_warehouse, tmp_path,
                                                                                    monkeypatch):
    """The model writes the changed partitions into the table itself, in one transaction: a
    failure after it has written one (here: the engine's sink raising) rolls every write back."""
    warehouse, _ = demo_warehouse
    con = _keep_a_copy(warehouse, "before_fail", tmp_path, monkeypatch)
    try:
        label = con.execute(f"select min(partition_label) from {CELLS}").fetchone()[0]
        con.execute(f"update {CELLS} set partition_digest = 'stale' where partition_label = ?", [label])
        con.execute(f"create or replace table incr.stale as select * from {CELLS}")
    finally:
        con.close()
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FAIL_AFTER_ONE_PARTITION)
    with monkeypatch.context() as m:
        m.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])))
        failed = run_dbt(warehouse, "run", "--select", "int_disclosure__cells", check=False)
    assert failed.returncode != 0 and "failed after writing a partition" in failed.stdout + failed.stderr
    assert _diff(warehouse, "incr.stale", CELLS) == (0, 0)        # the stale partition still as it was
    run_dbt(warehouse, "run", "--select", "int_disclosure__cells")
    assert _diff(warehouse, "incr.before_fail", CELLS) == (0, 0)  # rewritten once the run succeeds
