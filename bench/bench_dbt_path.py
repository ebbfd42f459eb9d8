"""Where a dbt build's seconds go: node times and the critical path, from run_results.json.

    .venv/bin/python bench/bench_dbt_path.py <dbt target dir> [--top N]

Prints the build's wall, the summed node time by kind (model / test), the time from the first
to the last node, and the chain of nodes that decided the end (each node's latest-finishing
upstream: its parent models and, as `dbt build` orders them, the tests on those parents).
"""

import argparse
import json
import re
from collections import defaultdict
from datetime import datetime
from pathlib import Path


def _t(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def node_spans(results: dict) -> dict[str, tuple[float, float]]:
    """unique_id -> (start, end) over the node's compile + execute timings."""
    spans = {}
    for r in results["results"]:
        ts = [(_t(t["started_at"]), _t(t["completed_at"])) for t in r.get("timing", []) if t.get("started_at")]
        if ts:
            spans[r["unique_id"]] = (min(a for a, _ in ts), max(b for _, b in ts))
    return spans


def upstream(manifest: dict, ran: set[str]) -> dict[str, set[str]]:
    """Each ran node's ran upstream nodes: parents, plus tests attached to those parents (build order)."""
    nodes = {**manifest["nodes"], **manifest.get("unit_tests", {})}
    tests_on: dict[str, set[str]] = {}
    for uid, n in nodes.items():
        if n.get("resource_type") == "test" and uid in ran:
            for p in n.get("depends_on", {}).get("nodes", []):
                tests_on.setdefault(p, set()).add(uid)
    up = {}
    for uid in ran:
        n = nodes.get(uid, {})
        parents = {p for p in n.get("depends_on", {}).get("nodes", []) if p in ran}
        if n.get("resource_type") != "test":
            for p in list(parents):
                parents |= tests_on.get(p, set())
        up[uid] = parents
    return up


def critical_path(spans: dict, up: dict) -> list[str]:
    end = max(spans, key=lambda u: spans[u][1])
    chain = [end]
    while True:
        ps = [p for p in up.get(chain[-1], ()) if p in spans]
        if not ps:
            return chain[::-1]
        chain.append(max(ps, key=lambda p: spans[p][1]))


def last_command_events(target: Path) -> list[dict]:
    """The JSON events of the last dbt command in target/dbt.log and its rotated predecessor (one
    reader for the benches)."""
    events = []
    for f in (target / "dbt.log.1", target / "dbt.log"):
        if f.exists():
            events += [json.loads(line) for line in f.read_text().splitlines() if line.startswith("{")]
    last = events[-1]["info"]["invocation_id"] if events else None
    return [e for e in events if e["info"]["invocation_id"] == last]


def statement_seconds(target: Path, skip: set[str]) -> tuple[dict[str, float], dict[str, float]]:
    """(seconds per statement kind, SQL seconds per node) of the last dbt command in target/dbt.log."""
    kinds: dict[str, float] = defaultdict(float)
    per_node: dict[str, float] = defaultdict(float)
    kind_of: dict[str, str] = {}
    for e in last_command_events(target):
        name, thread = e["info"]["name"], e["info"].get("thread")
        if name == "SQLQuery":
            sql = re.sub(r"/\*.*?\*/", "", e["data"].get("sql", ""), flags=re.S).strip().lower()
            kind = sql.split()[0] if sql else "?"
            if kind == "create":
                kind = "create __dbt_tmp" if "__dbt_tmp" in sql[:400] else "create"
            elif kind == "drop" and "__dbt_backup" in sql:
                kind = "drop __dbt_backup"
            kind_of[thread] = kind
        elif name == "SQLQueryStatus":
            uid = e["data"].get("node_info", {}).get("unique_id", "?")
            if uid in skip:
                continue
            secs = float(e["data"].get("elapsed", 0))
            kinds[kind_of.get(thread, "?")] += secs
            per_node[uid] += secs
    return kinds, per_node


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("target", type=Path)
    ap.add_argument("--top", type=int, default=0)
    ap.add_argument("--statements", action="store_true", help="SQL seconds by statement kind")
    ap.add_argument("--skip", nargs="*", default=["model.trust_destinations.int_disclosure__cells"],
                    help="nodes left out of --statements (default: the disclosure engine)")
    a = ap.parse_args()
    results = json.loads((a.target / "run_results.json").read_text())
    manifest = json.loads((a.target / "manifest.json").read_text())
    spans = node_spans(results)
    kinds: dict[str, list[float]] = {}
    for uid, (s, e) in spans.items():
        kinds.setdefault(uid.split(".")[0], []).append(e - s)
    first, last = min(s for s, _ in spans.values()), max(e for _, e in spans.values())
    print(f"dbt elapsed {results['elapsed_time']:.1f}s; nodes {first and last - first:.1f}s from first start to last end")
    for k, v in sorted(kinds.items()):
        print(f"  {k:8s} {len(v):3d} nodes  {sum(v):6.1f} node-s")
    up = upstream(manifest, set(spans))
    print("critical path (start, duration, gap before it):")
    prev_end = first
    for uid in critical_path(spans, up):
        s, e = spans[uid]
        print(f"  {s - first:6.2f}s  {e - s:5.2f}s  gap {s - prev_end:5.2f}s  {uid.split('.')[0][:5]} {uid.split('.')[-1][:70]}")
        prev_end = e
    if a.top:
        print("slowest nodes:")
        for uid in sorted(spans, key=lambda u: spans[u][0] - spans[u][1])[: a.top]:
            s, e = spans[uid]
            print(f"  {e - s:5.2f}s  {uid.split('.')[-1][:70]}")
    if a.statements:
        kinds, per_node = statement_seconds(a.target, set(a.skip))
        node_s = sum(e - s for u, (s, e) in spans.items() if u not in a.skip)
        print(f"SQL statements (left out: {', '.join(x.split('.')[-1] for x in a.skip)}): {sum(kinds.values()):.1f}s "
              f"of {node_s:.1f} node-s; not SQL {node_s - sum(per_node.values()):.1f} node-s")
        for kind, secs in sorted(kinds.items(), key=lambda kv: -kv[1]):
            if secs >= 0.05:
                print(f"  {kind:20s} {secs:6.2f}s")


if __name__ == "__main__":
    main()
