"""dbt runs the disclosure engine's upstream first (lib/dbt_cli.engine_upstream_first): nodes the
engine does not wait for are held back until the engine is handed out, then run beside it."""
from types import SimpleNamespace

import networkx as nx

from pipelines.lib.dbt_cli import upstream_of

ENGINE = "model.trust_destinations.int_disclosure__cells"


class Manifest:
    def expect(self, uid):
        return SimpleNamespace(unique_id=uid, config=SimpleNamespace(incremental_strategy=None))


def build_graph() -> nx.DiGraph:
    # returns -> rounds -> (test on rounds) -> engine -> public; status and benchmarks need nobody
    g = nx.DiGraph()
    g.add_edges_from([("model.returns", "model.rounds"), ("model.rounds", "test.rounds_checks"),
                      ("test.rounds_checks", ENGINE), ("model.fsq", ENGINE), (ENGINE, "model.public"),
                      ("model.returns", "model.status"), ("model.benchmarks", "model.gaps")])
    return g


def drain(queue) -> list[str]:
    """Hand out and finish nodes one at a time, as one dbt thread would: the order they ran in."""
    order = []
    while not queue.empty():
        node = queue.get(block=False)
        order.append(node.unique_id)
        queue.mark_done(node.unique_id)
    return order


def test_upstream_of_the_engine_includes_the_tests_on_its_parents():
    assert upstream_of(build_graph()) == {"model.returns", "model.rounds", "test.rounds_checks", "model.fsq", ENGINE}
    assert upstream_of(nx.DiGraph([("model.a", "model.b")])) == set()


def test_the_engine_starts_before_anything_it_does_not_wait_for(monkeypatch):
    from dbt.graph import queue as dbt_queue

    from pipelines.lib.dbt_cli import engine_upstream_first
    plain = drain(dbt_queue.GraphQueue(build_graph(), Manifest(), set(build_graph())))
    # dbt's own order: by depth, so the benchmarks (depth 0) run before the engine's upstream is done
    assert plain.index("model.benchmarks") < plain.index(ENGINE)

    for name in ("_get_scores", "_find_new_additions", "get"):
        monkeypatch.setattr(dbt_queue.GraphQueue, name, getattr(dbt_queue.GraphQueue, name))
    monkeypatch.setattr(dbt_queue.GraphQueue, "engine_upstream_first", False, raising=False)
    engine_upstream_first()
    engine_upstream_first()          # twice: patched once
    order = drain(dbt_queue.GraphQueue(build_graph(), Manifest(), set(build_graph())))
    assert sorted(order) == sorted(build_graph())              # every node, once
    first = order.index(ENGINE)
    assert set(order[:first]) == {"model.returns", "model.rounds", "test.rounds_checks", "model.fsq"}
    for parent, child in build_graph().edges:                  # and never before what it depends on
        assert order.index(parent) < order.index(child)


def test_a_build_without_the_engine_keeps_dbts_order(monkeypatch):
    from dbt.graph import queue as dbt_queue

    from pipelines.lib.dbt_cli import engine_upstream_first
    g = nx.DiGraph([("model.a", "model.b"), ("model.c", "model.d")])
    plain = drain(dbt_queue.GraphQueue(g.copy(), Manifest(), set(g)))
    for name in ("_get_scores", "_find_new_additions", "get"):
        monkeypatch.setattr(dbt_queue.GraphQueue, name, getattr(dbt_queue.GraphQueue, name))
    monkeypatch.setattr(dbt_queue.GraphQueue, "engine_upstream_first", False, raising=False)
    engine_upstream_first()
    assert drain(dbt_queue.GraphQueue(g.copy(), Manifest(), set(g))) == plain


def test_a_node_ready_later_gets_the_next_free_thread_before_shorter_ones(monkeypatch, tmp_path):
    """With the build's threads on the queue (`slots`, set by nodes_when_a_thread_is_free), dbt's main
    loop takes a node only when a thread is free: the FSQ scores, ready once the characteristics end,
    go before short models that were ready earlier (without it they were all already in the pool's
    first-come queue, and the scores waited behind them)."""
    import threading

    from dbt.graph import queue as dbt_queue

    from pipelines.lib.dbt_cli import engine_upstream_first
    for name in ("_get_scores", "_find_new_additions", "get"):
        monkeypatch.setattr(dbt_queue.GraphQueue, name, getattr(dbt_queue.GraphQueue, name))
    monkeypatch.setattr(dbt_queue.GraphQueue, "engine_upstream_first", False, raising=False)
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path))   # no last build: 1 s a model (not a real build's seconds)
    engine_upstream_first()
    g = nx.DiGraph([("model.characteristics", "model.fsq_scores"), ("model.fsq_scores", ENGINE),
                    ("model.fsq_scores", "model.fsq_published"), ("model.fsq_published", "model.fsq_linkage"),
                    ("model.routes", ENGINE), ("model.providers", ENGINE), ("model.goals", ENGINE),
                    ("model.measures", ENGINE)])
    q = dbt_queue.GraphQueue(g.copy(), Manifest(), set(g))
    q.slots = 2
    first = [q.get().unique_id, q.get().unique_id]
    assert first[0] == "model.characteristics"           # the longest chain first
    got: list[str] = []
    third = threading.Thread(target=lambda: got.append(q.get().unique_id), daemon=True)
    third.start()
    third.join(0.3)
    assert third.is_alive() and got == []                # both threads busy: nothing taken yet
    q.mark_done("model.characteristics")
    third.join(5)
    assert got == ["model.fsq_scores"]                   # not one of the short models ready before it

    q = dbt_queue.GraphQueue(g.copy(), Manifest(), set(g))  # no slots (dbt's own loop): taken at once
    taken = [q.get().unique_id for _ in range(3)]
    assert "model.fsq_scores" not in taken and len(taken) == 3


def test_the_launcher_and_the_warm_process_prepare_dbt_alike(monkeypatch):
    """Both places that start dbt's CLI call prepare (one call each), which puts the engine's
    upstream first and leaves dbt's manifest writes as they are."""
    import inspect

    from dbt.graph import queue as dbt_queue
    from dbt.parser import manifest as loaded

    from pipelines.lib import dbt_cli, dbt_warm
    for name in ("_get_scores", "_find_new_additions", "get"):
        monkeypatch.setattr(dbt_queue.GraphQueue, name, getattr(dbt_queue.GraphQueue, name))
    monkeypatch.setattr(dbt_queue.GraphQueue, "engine_upstream_first", False, raising=False)
    from dbt.compilation import Linker
    from dbt.task.runnable import GraphRunnableTask
    monkeypatch.setattr(Linker, "add_test_edges", Linker.add_test_edges)
    monkeypatch.setattr(GraphRunnableTask, "run_queue", GraphRunnableTask.run_queue)
    monkeypatch.setattr(GraphRunnableTask, "nodes_when_a_thread_is_free", False, raising=False)
    write = loaded.write_manifest
    dbt_cli.prepare()
    assert dbt_queue.GraphQueue.engine_upstream_first is True and loaded.write_manifest is write
    assert GraphRunnableTask.nodes_when_a_thread_is_free is True
    g = nx.DiGraph([("model.a", "test.a"), ("model.a", "model.b")])
    Linker.add_test_edges(SimpleNamespace(graph=g), manifest=None)     # checks_beside_models: no test -> child edge
    assert set(g.edges) == {("model.a", "test.a"), ("model.a", "model.b")}
    assert "prepare()" in inspect.getsource(dbt_cli.main) and "prepare()" in inspect.getsource(dbt_warm.run_command)
    for fn in (dbt_cli.main, dbt_warm.run_command):
        assert "engine_upstream_first" not in inspect.getsource(fn)


def _dbt_build(tmp_path, models: dict[str, str], tests: dict[str, str] | None = None,
               python: dict[str, str] | None = None, args: list[str] | None = None):
    """`dbt build` of a small project through the launcher (Python models: `python`, more dbt
    arguments: `args`): (exit code, node name -> status, dbt's stdout)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path
    proj = tmp_path / "proj"
    (proj / "models").mkdir(parents=True)
    (proj / "tests").mkdir()
    (proj / "dbt_project.yml").write_text("name: trust_destinations\nversion: '1.0'\nconfig-version: 2\n"
                                          "profile: t\nflags: {send_anonymous_usage_stats: false}\n")
    (proj / "profiles.yml").write_text("t:\n  target: x\n  outputs:\n    x:\n      type: duckdb\n"
                                       f"      path: \"{tmp_path / 'w.duckdb'}\"\n      threads: 2\n")
    for name, sql in models.items():
        (proj / "models" / f"{name}.sql").write_text(sql)
    for name, code in (python or {}).items():
        (proj / "models" / f"{name}.py").write_text(code)
    for name, sql in (tests or {}).items():
        (proj / "tests" / f"{name}.sql").write_text(sql)
    env = {**os.environ, "DO_NOT_TRACK": "1", "DBT_TARGET_PATH": str(proj / "target"), "DBT_LOG_PATH": str(proj / "logs")}
    env.pop("DESTINATIONS_DBT_WARM_SOCKET", None)
    env.pop("DESTINATIONS_DBT_WORKDIR", None)
    proc = subprocess.run([sys.executable, "-m", "pipelines.lib.dbt_cli", *(args or []), "build", "--project-dir",
                           str(proj), "--profiles-dir", str(proj)], env=env, capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[2])
    status = {r["unique_id"].split(".")[-1]: r["status"]
              for r in json.loads((proj / "target" / "run_results.json").read_text())["results"]}
    return proc.returncode, status, proc.stdout


def test_a_failing_check_fails_the_build_without_holding_the_models_after_it(tmp_path):
    """Real dbt, through the launcher: a check on a model the engine reads fails. The engine and the
    model after it are built (they wait only for the models they read), and the build still fails,
    so the run publishes nothing."""
    code, status, out = _dbt_build(tmp_path, {
        "returns": "select 1 as n",
        "int_disclosure__cells": "select * from {{ ref('returns') }}",
        "published": "select * from {{ ref('int_disclosure__cells') }}",
    }, tests={"returns_has_no_rows": "select * from {{ ref('returns') }}"})
    assert code == 1, out
    assert status == {"returns": "success", "returns_has_no_rows": "fail",
                      "int_disclosure__cells": "success", "published": "success"}


def test_a_failed_upstream_node_still_ends_the_build(tmp_path):
    """Real dbt, through the launcher: a model the engine waits for fails; the engine is skipped,
    which releases the nodes held back, so they run and the build ends (no wait for ever)."""
    code, status, out = _dbt_build(tmp_path, {
        "returns": "select 1 as n from no_such_table",
        "int_disclosure__cells": "select * from {{ ref('returns') }}",
        "benchmarks": "select 2 as n",
        "gaps": "select * from {{ ref('benchmarks') }}",
    })
    assert code == 1, out
    assert status == {"returns": "error", "int_disclosure__cells": "skipped", "benchmarks": "success", "gaps": "success"}


def test_the_longest_chain_runs_first(tmp_path):
    """Among ready nodes the one with the longest chain after it goes first: by the last build's
    seconds per node (run_results.json), else 1 s a model and nothing for a test; dbt's level breaks ties."""
    import json

    from pipelines.lib.dbt_cli import last_seconds, longest_chain_first
    g = nx.DiGraph([("model.returns", "model.rounds"), ("model.rounds", "model.engine"),
                    ("model.pupils", "model.fsq"), ("model.fsq", "model.engine"),
                    ("model.engine", "model.measures_pub"), ("model.engine", "model.fsq_pub"),
                    ("model.measures_pub", "model.similar"), ("model.similar", "model.similar_cmp"),
                    ("model.fsq_pub", "test.fsq_pub"), ("model.similar_cmp", "test.row_checks")])
    depth = {n: i for i, n in enumerate(nx.topological_sort(g))}
    counted = longest_chain_first(g, depth)
    assert counted["model.measures_pub"] < counted["model.fsq_pub"]          # 3 models after it against 1
    assert counted["test.row_checks"][0] == counted["test.fsq_pub"][0] == 0
    assert counted["test.fsq_pub"] != counted["test.row_checks"]              # ties broken by dbt's level
    assert counted["model.returns"] == (-6.0, depth["model.returns"])      # 6 models on its chain

    (tmp_path / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": "model.fsq", "execution_time": 13.5}, {"unique_id": "model.rounds", "execution_time": 2.0},
        {"unique_id": "model.returns", "execution_time": 1.0}, {"unique_id": "model.pupils", "execution_time": 3.0}]}))
    seconds = last_seconds(str(tmp_path))
    assert seconds["model.fsq"] == 13.5 and last_seconds(str(tmp_path / "none")) == {}
    timed = longest_chain_first(g, depth, seconds)
    assert timed["model.pupils"] < timed["model.returns"]      # 3 + 13.5 s ahead of 1 + 2 s (one node fewer)
    assert counted["model.returns"] < counted["model.pupils"]   # by nodes alone, the other way round
