"""Benchmark: server-side render time of every dashboard page, per role, via AppTest.

    .venv/bin/python bench/bench_dashboard.py [--data DIR] [--scale demo|large] [--repeat N]

--data: an existing data directory (e.g. after `destinations generate && destinations run`);
otherwise a contract-shaped snapshot is built (demo: 6 academies x 3 years; large: 60
academies x 6 years, ~200 pupils per academy frame). Times are the median of N warm runs
(first, cold run reported separately); target under 1 s per page at large scale.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "dashboards"))

SCALES = {"demo": dict(n_academies=6, n_years=3, pupils_per_frame=120),
          "large": dict(n_academies=60, n_years=6, pupils_per_frame=200)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path)
    ap.add_argument("--scale", default="demo", choices=list(SCALES))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--roles", default="trust_admin,director,academy")
    args = ap.parse_args()

    import dash_fixture_data as fx

    data = args.data
    if data is None:
        data = Path(tempfile.mkdtemp(prefix=f"dash_bench_{args.scale}_"))
        t = time.perf_counter()
        fx.build(data)  # the real pipeline snapshot of tests/real_snapshot.py (pass --data for others)
        print(f"copied the real test snapshot in {time.perf_counter() - t:.1f}s to {data}")
    os.environ["DESTINATIONS_DATA_DIR"] = str(data)
    users_path = Path(tempfile.mkdtemp(prefix="dash_bench_users_")) / "users.json"
    os.environ["DESTINATIONS_USERS_FILE"] = str(users_path)

    from streamlit.testing.v1 import AppTest

    from dashboards.lib import data as dlib
    from dashboards.lib import users
    from dashboards.streamlit_app import PAGES

    serving = dlib.serving_dir(data)
    import pandas as pd
    dm = pd.read_parquet(serving / "destination_measures.parquet") if (serving / "destination_measures.parquet").exists() \
        else None
    urn = str(dm["academy_urn"].dropna().iloc[0]) if dm is not None else "100001"
    size = sum(p.stat().st_size for p in serving.glob("*.parquet")) if serving.is_dir() else 0
    print(f"serving: {len(list(serving.glob('*.parquet')))} files, {size / 1e6:.1f} MB; "
          f"destination_measures rows: {0 if dm is None else len(dm):,}")
    accounts = {"trust_admin": ("bench-admin", []), "director": ("bench-director", []),
                "academy": ("bench-academy", [urn])}
    for role, (name, urns) in accounts.items():
        users.add_user(name, role, urns, password="bench-password-1", path=users_path, replace=True)

    app = str(ROOT / "dashboards" / "streamlit_app.py")
    worst = worst_cpu = 0.0
    print(f"{'role':12} {'page':28} {'cold s':>7} {'warm s':>7} {'warm cpu s':>10}")
    for role in args.roles.split(","):
        name = accounts[role][0]
        at = AppTest.from_file(app, default_timeout=120)
        at.session_state["td_auth"] = {"username": name, "method": "password"}
        at.run()
        for path, title, _icon, roles, _sec in PAGES:
            if role not in roles:
                continue
            times, cpu = [], []
            for i in range(args.repeat + 1):
                at.switch_page(path)
                t, c = time.perf_counter(), time.process_time()
                at.run()
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
                if at.exception:
                    print(f"  ! {title}: {at.exception[0].value}")
                    break
            warm = statistics.median(times[1:]) if len(times) > 1 else times[0]
            wcpu = statistics.median(cpu[1:]) if len(cpu) > 1 else cpu[0]
            worst = max(worst, warm)
            worst_cpu = max(worst_cpu, wcpu)
            print(f"{role:12} {title:28} {times[0]:7.3f} {warm:7.3f} {wcpu:10.3f}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"slowest warm page: {worst:.3f}s wall, {worst_cpu:.3f}s CPU "
          f"(load average {load:.1f} on {os.cpu_count()} CPUs: wall time includes waiting for a CPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
