"""dbt as the pipeline starts it: `python -m pipelines.lib.dbt_cli <dbt arguments>`, run from the
data directory's warehouse folder (DESTINATIONS_DBT_WORKDIR, set by config.dbt_env).

The profile names the warehouse by a path relative to that folder ("warehouse.duckdb"), so the
profile dbt renders is the same for every data directory. dbt re-parses the whole project when
the rendered profile changes (its partial-parse check hashes the connection settings), so with
an absolute path a new, copied or moved data directory's first build parsed everything again
(~10 CPU-s at `large`); now any parse made for the pipeline serves every data directory. Each
data directory still keeps its own dbt state (DBT_TARGET_PATH, DBT_LOG_PATH: config.dbt_env).

When `destinations run` has started a warm dbt process (lib/dbt_warm.py: dbt already imported), the
command runs there, with this process's stdio, environment and folder; otherwise here.

Either way `prepare` readies dbt for the command: the engine's upstream runs before anything else
(`engine_upstream_first`).
"""
import os
import sys

WORKDIR_ENV = "DESTINATIONS_DBT_WORKDIR"
# the node a build waits on longest (the disclosure engine, about half of a correction's path)
FIRST_NODES = frozenset({"model.trust_destinations.int_disclosure__cells"})


def upstream_of(graph, first=FIRST_NODES) -> set:
    """The nodes of dbt's build graph that `first` waits for, `first` included (empty: none of
    `first` is in this build). Tests are among them only where the graph makes a model wait for its
    parents' tests (dbt's own build graph; not with checks_beside_models)."""
    import networkx as nx
    ahead: set = set()
    for node in first:
        if node in graph:
            ahead |= nx.ancestors(graph, node) | {node}
    return ahead


def last_seconds(target: str | None) -> dict[str, float]:
    """Each node's seconds in the last build of this data directory (its target/run_results.json,
    read before this build writes its own); empty when there is none."""
    import json
    try:
        with open(os.path.join(target or "target", "run_results.json")) as fh:
            return {r["unique_id"]: float(r.get("execution_time") or 0.0) for r in json.load(fh)["results"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def longest_chain_first(graph, depth: dict, seconds: dict[str, float] | None = None) -> dict:
    """dbt's queue scores (lower runs first): the node with the longest chain after it first, then
    dbt's own score (`depth`: its level from the sources). A chain's length is the nodes' seconds in
    the last build (`seconds`; a node not in it: 1 s for a model, 0 for a test), so the heaviest
    chain gets the threads: before the engine, the FSQ chain (pupil characteristics -> construct
    scores, the longest in seconds) and the destination chain; after it, similar_schools ->
    similar_schools_comparison, which waited 9 s behind short leaves of an earlier level (measured
    at `large`, load 14). dbt alone runs level by level."""
    import networkx as nx
    seconds = seconds or {}
    chain: dict = {}
    for node in reversed(list(nx.topological_sort(graph))):
        own = seconds.get(node, 0.0 if node.startswith("test.") else 1.0)
        chain[node] = own + max((chain[c] for c in graph.successors(node)), default=0.0)
    return {node: (-chain[node], depth[node]) for node in graph}


def engine_upstream_first() -> None:
    """Have dbt's scheduler (GraphQueue) hold back every node the engine does not wait for until
    the engine has started; then they run beside it (the engine leaves a core idle for most of its
    time). Without this, in a build on 2 cores the models nobody on the serving path waits for
    (benchmarks, return status, gaps...) took dbt's threads as soon as they were ready: measured
    at `large` on a correction, 8-11 of the 45-70 node-seconds before the engine started. Only the
    order changes: every node still runs, after everything it depends on; a failed upstream node
    still hands out the engine (skipped), which releases the rest. A dbt without these methods of
    GraphQueue: dbt's own order."""
    try:
        from dbt.graph.queue import GraphQueue
        get_scores, find_new_additions, get = (
            GraphQueue._get_scores, GraphQueue._find_new_additions, GraphQueue.get)
    except (ImportError, AttributeError):
        return
    if getattr(GraphQueue, "engine_upstream_first", False):
        return

    def scores(self, graph):          # called once, first, by GraphQueue.__init__ with the whole graph
        self.ahead, self.held = upstream_of(graph), []
        return longest_chain_first(graph, get_scores(self, graph), last_seconds(os.environ.get("DBT_TARGET_PATH")))

    def additions(self, candidates) -> None:          # callers hold the lock
        if not self.ahead:
            return find_new_additions(self, candidates)
        hold = [n for n in candidates if n not in self.ahead
                and self.graph.in_degree(n) == 0 and not self._already_known(n)]
        self.held += hold
        self.queued.update(hold)      # known (queued), not yet in the priority queue
        find_new_additions(self, [n for n in candidates if n not in hold])

    def get_node(self, block: bool = True, timeout=None):
        slots = getattr(self, "slots", 0)      # the build's threads (nodes_when_a_thread_is_free)
        if slots and block:
            with self.lock:                    # mark_done notifies some_task_done
                while len(self.in_progress) >= slots:
                    self.some_task_done.wait()
        node = get(self, block=block, timeout=timeout)
        if node.unique_id in FIRST_NODES:
            with self.lock:
                self.ahead = set()
                for n in self.held:
                    self.inner.put((self._scores[n], n))
                self.held = []
        return node

    GraphQueue._get_scores, GraphQueue._find_new_additions, GraphQueue.get = scores, additions, get_node
    GraphQueue.engine_upstream_first = True


def nodes_when_a_thread_is_free() -> None:
    """dbt's main loop takes every ready node off its queue at once and hands it to the thread
    pool, whose own queue is first come, first served: a node that becomes ready later waits behind
    all of them, whatever its chain. With the build's thread count on the queue (`slots`), the main
    loop takes a node only when a thread is free, so each free thread gets the best node ready at
    that moment (longest_chain_first). Measured on a correction at `large`: fsq_construct_scores,
    ready when the pupils' characteristics ended, started 0.45 s later behind four short models, and
    the engine waited for it. Only the order changes. A dbt without this method: its own loop."""
    try:
        from dbt.task.runnable import GraphRunnableTask
        run_queue = GraphRunnableTask.run_queue
    except (ImportError, AttributeError):
        return
    if getattr(GraphRunnableTask, "nodes_when_a_thread_is_free", False):
        return

    def run_queue_with_slots(self, pool):
        if self.job_queue is not None and not getattr(self.config.args, "single_threaded", False):
            self.job_queue.slots = int(self.config.threads or 0)
        return run_queue(self, pool)

    GraphRunnableTask.run_queue = run_queue_with_slots
    GraphRunnableTask.nodes_when_a_thread_is_free = True


def checks_beside_models() -> None:
    """`dbt build` without its test -> child edges (Linker.add_test_edges): a model no longer waits
    for the data tests of the models it reads, only for those models; the tests run beside (held
    back with the rest until the engine starts, engine_upstream_first). A test is never an input of
    a model, so only the order changes. On a correction this took 5-6 tests off the path to the
    engine and the engine's own test off the path after it. A failing test still fails the build,
    so the run publishes nothing (the serving snapshot switches only after a clean build) and the
    next run rebuilds what this one left; what changes is that the models after the failed check
    are built before the build stops. A dbt without this method: its own edges."""
    try:
        from dbt.compilation import Linker
        Linker.add_test_edges       # noqa: B018 - present in this dbt
    except (ImportError, AttributeError):
        return
    Linker.add_test_edges = lambda self, manifest: None


def prepare() -> None:
    """Ready the imported dbt for its command, wherever it runs (here or warm). dbt's own manifest
    writes are kept: skipping the one a build makes before its first node saved ~0.1 s (1.4 MB)."""
    engine_upstream_first()
    nodes_when_a_thread_is_free()
    checks_beside_models()


def note(text: str) -> None:
    """A line for the output of the run that started dbt, sent from inside the dbt process (the
    disclosure engine's progress): a dbt Note event in dbt's own log stream, which the run reads
    (lib/dbt_progress.py prints it); dbt run by hand prints it as its other lines."""
    from dbt_common.events.functions import fire_event
    from dbt_common.events.types import Note

    from pipelines.lib.dbt_progress import NOTE
    fire_event(Note(msg=NOTE + text))


def main() -> None:
    workdir = os.environ.get(WORKDIR_ENV)
    if workdir:
        os.chdir(workdir)        # before dbt opens the warehouse by its relative path
    warm = os.environ.get("DESTINATIONS_DBT_WARM_SOCKET")
    if warm:
        from pipelines.lib.dbt_warm import hand_over
        code = hand_over(warm, sys.argv[1:])
        if code is not None:
            sys.exit(code)
        os.environ.pop("DESTINATIONS_DBT_WARM_SOCKET")
    from dbt.cli.main import cli
    prepare()
    sys.argv[0] = "dbt"
    sys.exit(cli())


if __name__ == "__main__":
    main()
