"""Where a dbt build's seconds go: node times and the critical path, from run_results.json.

    .venv/bin/python bench/bench_dbt_path.py <dbt target dir> [--top N]

Prints the build's wall, the summed node time by kind (model / test), the time from the first
to the last node, and the chain of nodes that decided the end (each node's latest-finishing
upstream: its parent models and, as `dbt build` orders them, the tests on those parents).
"""

import argparse
import json
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("target", type=Path)
    ap.add_argument("--top", type=int, default=0)
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


if __name__ == "__main__":
    main()
