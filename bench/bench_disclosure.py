"""Attack the published marts of a serving snapshot, and run the disclosure engine on it.

    .venv/bin/python bench/bench_disclosure.py [SERVING_DIR] [--academies N] [--engine]
    .venv/bin/python bench/bench_disclosure.py --scale large --data /tmp/x   # generate + build once, reuse
    .venv/bin/python bench/bench_disclosure.py SERVING --engine --marts neet_risk_rates,goal_progress

Prints the structure (cells, variables, relations: all checked on the unpublished marts), the
published pattern's attack (per mart hidden share; per audience hidden cells recovered, all and
non-zero) and with --engine: engine wall and CPU seconds, per mart the share hidden by the
primary rules alone and by the engine, and the attack on the engine's pattern for directors and
academy users (all academies, or the first N by URN with --academies N).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import polars as pl  # noqa: E402

from pipelines.lib.disclosure.attack import Attack, index_relations, recover  # noqa: E402
from pipelines.lib.disclosure.audit import audit, known_alone, read_serving  # noqa: E402
from pipelines.lib.disclosure.gauss import blocks  # noqa: E402
from pipelines.lib.disclosure.engine import _close_rows, audiences, primary_hidden, suppress  # noqa: E402
from pipelines.lib.disclosure.structure import build_structure  # noqa: E402


def _serving_for_scale(scale: str, data: Path) -> Path:
    serving = data / "warehouse" / "serving"
    if (serving / "destination_measures.parquet").exists():
        return serving   # built before: reuse
    env = {**os.environ, "DESTINATIONS_DATA_DIR": str(data)}
    bin_ = Path(sys.executable).parent
    subprocess.run([str(bin_ / "destinations"), "generate", "--out", str(data), "--scale", scale], env=env, check=True)
    subprocess.run([str(bin_ / "destinations"), "run"], env=env, check=True)
    return serving


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("serving", nargs="?", type=Path)
    ap.add_argument("--scale", choices=["small", "large"])
    ap.add_argument("--data", type=Path, help="data directory for --scale (reused when already built)")
    ap.add_argument("--academies", type=int, default=None, help="academy audiences to attack as (default all)")
    ap.add_argument("--engine", action="store_true", help="also run the disclosure engine and attack its pattern")
    ap.add_argument("--marts", help="comma-separated marts to include (default all published)")
    ap.add_argument("--sample-blocks", type=int, help="engine on every k-th connected block only (time per cell)")
    ap.add_argument("--skip-published", action="store_true", help="do not attack the published pattern")
    ap.add_argument("--cells-out", type=Path, help="write the engine's cells (hidden, reason) to this Parquet file")
    args = ap.parse_args()
    serving = args.serving or _serving_for_scale(args.scale or "small",
                                                 args.data or Path(f"/tmp/bench-disclosure-{args.scale}"))
    unpub, pub = read_serving(serving)
    if args.marts:
        keep = set(args.marts.split(","))
        unpub = {k: v for k, v in unpub.items() if k in keep}
        pub = {k: v for k, v in pub.items() if k in keep}
    t, c = time.perf_counter(), time.process_time()
    st = build_structure(unpub)
    print(f"structure: {st.cells.height} cells, {len(st.values)} variables, {len(st.relations)} relations "
          f"(all hold on the unpublished marts) in {time.perf_counter() - t:.1f}s wall, "
          f"{time.process_time() - c:.1f}s CPU", flush=True)
    if not args.skip_published:
        res = audit(unpub, pub, academies=args.academies, structure=st)
        print(f"published pattern attacked in {res.seconds:.1f}s; shares shown with their count hidden: "
              f"{res.pct_leaks}")
        for mart, share in res.hidden_share.items():
            print(f"  {mart:40s} {res.cells[mart]:7d} cells  {share:6.1%} hidden")
        for who, n in res.recovered.items():
            print(f"  {who:24s} recovers {n} hidden cells ({res.recovered_nonzero[who]} non-zero)  "
                  f"e.g. {res.examples[who][:2]}")
    if not args.engine:
        return
    primary = primary_hidden(st)
    _close_rows(st, primary)
    if args.sample_blocks:
        _sample_blocks(st, primary, args.sample_blocks, args.academies)
        return
    w0, c0 = time.perf_counter(), time.process_time()
    r = suppress(st)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    print(f"engine: {wall:.1f}s wall, {cpu:.1f}s CPU; {r.stats}; unresolved {r.unresolved}", flush=True)
    if args.cells_out:
        r.cells.write_parquet(args.cells_out)
    cells = r.cells.with_columns(primary=pl.col("var").is_in(sorted(primary)))
    share = cells.group_by("mart").agg(pl.len().alias("cells"), pl.col("primary").mean().alias("primary"),
                                       pl.col("hidden").mean().alias("engine")).sort("mart")
    print(f"  {'mart':40s} {'cells':>7s} {'primary':>8s} {'engine':>8s}")
    for m, n, p, e in share.iter_rows():
        print(f"  {m:40s} {n:7d} {p:8.1%} {e:8.1%}")
    n, p, e = cells.height, cells["primary"].mean(), cells["hidden"].mean()
    print(f"  {'all':40s} {n:7d} {p:8.1%} {e:8.1%}")
    hidden = set(r.cells.filter("hidden")["var"].to_list())
    rel_of = index_relations(st.relations)
    block_of, _ = blocks(len(st.values), st.relations)
    auds = audiences(st)
    names = ["director"] + sorted(k for k in auds if k != "director")[:args.academies]
    print(f"attack on the engine's pattern: director + {len(names) - 1} of {len(auds) - 1} academies", flush=True)
    total = 0
    t, c = time.perf_counter(), time.process_time()
    attack = Attack(st.relations, st.values, hidden, rel_of)
    print(f"  directors' attack {time.process_time() - c:.1f}s CPU", flush=True)
    for who in names:
        got = attack.recover(auds[who])
        if got and who != "director":   # leave out what its own cells (and shown zeros) alone pin
            alone = known_alone(st.relations, st.values, hidden, auds[who], got, block_of, rel_of)
            got = {v: x for v, x in got.items() if v not in alone}
        total += len(got)
        print(f"  {who:24s} recovers {len(got)} hidden cells ({sum(1 for x in got.values() if x)} non-zero)",
              flush=True)
    print(f"attack: {total} cells recovered over {len(names)} audiences in {time.perf_counter() - t:.1f}s wall, "
          f"{time.process_time() - c:.1f}s CPU")


def _sample_blocks(st, primary: dict, every: int, academies: int | None) -> None:
    """The engine on every `every`-th connected block with hidden cells (by block number), each
    attacked as director and academy users; cells hidden outside the sample count as shown
    (a stronger attacker)."""
    from pipelines.lib.disclosure.engine import _var_facts, protect
    is_den, trustish, _ = _var_facts(st)
    block_of, block_rels = blocks(len(st.values), st.relations)
    todo = [b for b, rels in enumerate(block_rels) if rels]
    todo = [b for b in todo if any(v in primary for w, p in (st.relations[i] for i in block_rels[b])
                                   for v in (w,) + p)][::every]
    auds = audiences(st)
    names = ["director"] + sorted(k for k in auds if k != "director")[:academies]
    rel_of = index_relations(st.relations)
    n_vars = n_primary = n_hidden = recovered = 0
    cpu = 0.0
    for b in todo:
        rels = [st.relations[i] for i in block_rels[b]]
        vs = {v for w, p in rels for v in (w,) + p}
        hidden = {v: r for v, r in primary.items() if v in vs}
        n_primary += len(hidden)
        sub = {k: s & vs for k, s in auds.items()}
        c0 = time.process_time()
        stats, unresolved = protect(rels, st.values, hidden, sub, is_den, trustish)
        cpu += time.process_time() - c0
        n_vars += len(vs)
        n_hidden += len(hidden)
        got_b = {}
        for who in names:
            got = recover(st.relations, st.values, set(hidden), auds[who] & vs, rel_of)
            if got and who != "director":   # leave out what its own cells (and shown zeros) alone pin
                alone = known_alone(st.relations, st.values, set(hidden), auds[who] & vs, got, block_of, rel_of)
                got = {v: x for v, x in got.items() if v not in alone}
            got_b[who] = len(got)
        recovered += sum(got_b.values())
        print(f"  block {b}: {len(vs)} cells, {len(rels)} relations, primary {sum(1 for v in hidden if primary.get(v))}"
              f" -> hidden {len(hidden)}; {stats['academy_passes']} academy passes, {stats['nonneg_rounds']} "
              f"non-negativity rounds; unresolved {unresolved}; recovered {sum(got_b.values())} over "
              f"{len(names)} audiences", flush=True)
    print(f"sample: {len(todo)} blocks, {n_vars} variables, primary {n_primary} -> hidden {n_hidden}; engine "
          f"{cpu:.1f}s CPU ({1000 * cpu / max(n_vars, 1):.2f} ms per variable); recovered {recovered} over "
          f"director + {len(names) - 1} academies")


if __name__ == "__main__":
    main()
