"""Attack the published marts of a serving snapshot, as a director and as academy users.

    .venv/bin/python bench/bench_disclosure.py [SERVING_DIR] [--academies N] [--engine]
    .venv/bin/python bench/bench_disclosure.py --scale large     # generate + run a large trust first

Prints, per mart, the share of cells hidden, and per audience the hidden cells recovered
(all, and non-zero) by interval propagation with non-negativity plus exact linear algebra per
block (pipelines/lib/disclosure). With --engine also times the disclosure engine on the
unpublished marts and attacks its pattern.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.lib.disclosure.attack import index_relations, recover  # noqa: E402
from pipelines.lib.disclosure.audit import audit, read_serving  # noqa: E402
from pipelines.lib.disclosure.structure import build_structure  # noqa: E402


def _serving_for_scale(scale: str) -> Path:
    data = Path(tempfile.mkdtemp(prefix=f"bench-disclosure-{scale}-"))
    env = {**os.environ, "DESTINATIONS_DATA_DIR": str(data)}
    bin_ = Path(sys.executable).parent
    subprocess.run([str(bin_ / "destinations"), "generate", "--out", str(data), "--scale", scale], env=env, check=True)
    subprocess.run([str(bin_ / "destinations"), "run"], env=env, check=True)
    return data / "warehouse" / "serving"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("serving", nargs="?", type=Path)
    ap.add_argument("--scale", choices=["small", "large"])
    ap.add_argument("--academies", type=int, default=3, help="academy audiences to attack as")
    ap.add_argument("--engine", action="store_true", help="also run the disclosure engine")
    args = ap.parse_args()
    serving = args.serving or _serving_for_scale(args.scale or "small")
    unpub, pub = read_serving(serving)
    t = time.perf_counter()
    st = build_structure(unpub)
    print(f"structure: {st.cells.height} cells, {len(st.values)} variables, {len(st.relations)} relations "
          f"(all hold on the unpublished marts) in {time.perf_counter() - t:.1f}s")
    res = audit(unpub, pub, academies=args.academies, structure=st)
    print(f"published pattern attacked in {res.seconds:.1f}s; shares shown with their count hidden: {res.pct_leaks}")
    for mart, share in res.hidden_share.items():
        print(f"  {mart:40s} {res.cells[mart]:7d} cells  {share:6.1%} hidden")
    for who, n in res.recovered.items():
        print(f"  {who:24s} recovers {n} hidden cells ({res.recovered_nonzero[who]} non-zero)  e.g. {res.examples[who][:2]}")
    if args.engine:
        from pipelines.lib.disclosure.engine import suppress
        r = suppress(st)
        print(f"engine: {r.seconds:.1f}s, {r.rounds} rounds, unresolved {r.unresolved}")
        hidden = set(r.cells.filter("hidden")["var"].to_list())
        rel_of = index_relations(st.relations)
        got = recover(st.relations, st.values, hidden, set(), rel_of)
        print(f"  director recovers {sum(1 for v in got.values() if v)} non-zero cells of the engine's pattern")


if __name__ == "__main__":
    main()
