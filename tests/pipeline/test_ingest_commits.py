"""The returns load commits after a partition once its open transaction holds more rows than
DESTINATIONS_INGEST_TRANSACTION_ROWS (a national load in one transaction held 7 GB): the tables
are the same as one transaction gives, every loaded partition is checked, and a failure after a
commit redoes only the partitions not yet committed."""
import shutil

import duckdb
import pytest

from pipelines.config import dbt_env, paths
from pipelines.lib.returns import ingest

TABLES = {   # columns that say when a file was loaded differ from run to run
    "raw.destination_returns": "*",
    "raw.return_submissions": "* exclude (processed_at)",
    "raw.return_problems": "*",
    "raw.return_file_state": "*",
    "raw.return_loads": "* exclude (loaded_at)",
}


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    from pipelines.lib.generate import generate_trust
    data = tmp_path_factory.mktemp("commits") / "pristine"
    generate_trust(data, academies=3, years=2, seed=7, with_careers=False)
    return data


def _ingest(src, dst, monkeypatch, rows=None):
    from pipelines import runner
    shutil.copytree(src, dst)
    p = paths(dst)
    dbt_env(p)
    p.warehouse_dir.mkdir(parents=True, exist_ok=True)
    if rows is None:
        monkeypatch.delenv("DESTINATIONS_INGEST_TRANSACTION_ROWS", raising=False)
    else:
        monkeypatch.setenv("DESTINATIONS_INGEST_TRANSACTION_ROWS", str(rows))
    lines, problems = [], []
    todo = runner.landed_return_partitions(p)
    runner._ingest_returns(p, todo, lines.append, problems, full=True)
    return p, todo, lines, problems


def _same(a, b) -> None:
    ca, cb = duckdb.connect(str(a.warehouse), read_only=True), duckdb.connect(str(b.warehouse), read_only=True)
    try:
        for table, cols in TABLES.items():
            x = ca.execute(f"select {cols} from {table} order by all").fetchall()
            y = cb.execute(f"select {cols} from {table} order by all").fetchall()
            assert x == y, table
            assert x or table == "raw.return_problems", table
    finally:
        ca.close()
        cb.close()


def _commits(monkeypatch) -> list[int]:
    """Count the load's commits (DuckDB connections cannot be patched: wrap the connection)."""
    from pipelines import runner
    from pipelines.lib import warehouse
    seen: list[int] = []
    real = warehouse.connect_retrying

    class Counting:
        def __init__(self, con):
            self._con = con

        def execute(self, sql, *args, **kw):
            if sql.strip().lower() == "commit":
                seen.append(1)
            return self._con.execute(sql, *args, **kw)

        def __getattr__(self, name):
            return getattr(self._con, name)

    monkeypatch.setattr(warehouse, "connect_retrying", lambda *a, **kw: Counting(real(*a, **kw)))
    assert runner   # the runner imports connect_retrying from warehouse at call time
    return seen


def test_small_budget_commits_per_partition_same_tables(landing, tmp_path, monkeypatch):
    one, todo, _, problems = _ingest(landing, tmp_path / "one", monkeypatch)
    assert not problems and len(todo) >= 3
    commits = _commits(monkeypatch)
    many, _, lines, problems = _ingest(landing, tmp_path / "many", monkeypatch, rows=1)
    assert not problems
    assert len(commits) == len(todo)                        # one commit after each partition
    _same(one, many)
    assert f"{len(todo)} partition(s) looked at, {len(todo)} changed" in "\n".join(lines)
    assert "returns checks" in "\n".join(lines)                # every partition's rows were checked


def test_default_budget_is_one_transaction(landing, tmp_path, monkeypatch):
    commits = _commits(monkeypatch)
    _, todo, _, problems = _ingest(landing, tmp_path / "one", monkeypatch)
    assert not problems and len(todo) >= 3
    assert len(commits) == 1


def test_failure_after_a_commit_redoes_only_the_rest(landing, tmp_path, monkeypatch):
    """A partition failing in the open transaction: the committed partitions stay (and are checked),
    the rest are loaded one by one; the failing one is reported."""
    from pipelines import runner
    ref, todo, _, _ = _ingest(landing, tmp_path / "ref", monkeypatch)
    bad = todo[2]
    real = ingest.load_partition
    calls: list[tuple[str, str, bool]] = []

    def flaky(p, con, year, rnd, **kw):
        calls.append((year, rnd, kw.get("transaction", True)))
        if (year, rnd) == bad:
            raise RuntimeError("boom")
        return real(p, con, year, rnd, **kw)

    monkeypatch.setattr(ingest, "load_partition", flaky)
    got, _, lines, problems = _ingest(landing, tmp_path / "got", monkeypatch, rows=1)
    assert problems == [f"returns {bad[0]} {bad[1]}: RuntimeError: boom"]
    # first pass in one transaction up to the failure, then only the failed one and those after it
    assert [c[:2] for c in calls if not c[2]] == todo[:3]
    assert [c[:2] for c in calls if c[2]] == todo[2:]
    text = "\n".join(lines)
    assert "loading partition by partition" in text
    assert f"{len(todo)} partition(s) looked at, {len(todo) - 1} changed" in text
    con = duckdb.connect(str(got.warehouse), read_only=True)
    try:
        loaded = {tuple(r) for r in con.execute("select distinct leaving_year, round from raw.destination_returns").fetchall()}
    finally:
        con.close()
    assert loaded == set(todo) - {bad}
    assert runner.transaction_rows() == 1


def test_a_bad_budget_is_named(monkeypatch):
    from pipelines.runner import transaction_rows
    for bad in ("lots", "0", "-5"):
        monkeypatch.setenv("DESTINATIONS_INGEST_TRANSACTION_ROWS", bad)
        with pytest.raises(ValueError, match="DESTINATIONS_INGEST_TRANSACTION_ROWS"):
            transaction_rows()
    monkeypatch.setenv("DESTINATIONS_INGEST_TRANSACTION_ROWS", "7")
    assert transaction_rows() == 7
    monkeypatch.delenv("DESTINATIONS_INGEST_TRANSACTION_ROWS")
    assert transaction_rows() == 2_000_000
