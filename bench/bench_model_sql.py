"""Time dbt models' compiled SQL alone in plain DuckDB, with the profile's limits, on a warehouse copy.

    .venv/bin/python bench/bench_model_sql.py WAREHOUSE_COPY.duckdb COMPILED.sql [...]
        [--memory 4GB] [--threads 2] [--temp DIR] [--no-order] [--profile OUT_DIR] [--keep]

Each model runs in its own process: `create table bench_sql.<model> as <its compiled select>`
(the compiled SQL of `dbt compile` against this warehouse, so its relation names match the file's
catalog). Prints wall seconds, the process's peak RSS and the load average. --profile writes
DuckDB's query profile (EXPLAIN ANALYZE) per model; --keep leaves the tables in schema bench_sql
(to compare with EXCEPT ALL). The warehouse is written: pass a copy.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path


def run_one(db: str, sql_file: str, a) -> None:
    import duckdb
    name = Path(sql_file).stem
    con = duckdb.connect(db, config={"memory_limit": a.memory, "threads": int(a.threads),
                                     **({"temp_directory": a.temp} if a.temp else {}),
                                     **({"preserve_insertion_order": False} if a.no_order else {})})
    con.execute("create schema if not exists bench_sql")
    con.execute(f"drop table if exists bench_sql.{name}")
    sql = Path(sql_file).read_text()
    if a.profile:
        Path(a.profile).mkdir(parents=True, exist_ok=True)
        out = Path(a.profile) / f"{name}.txt"
        con.execute("pragma enable_profiling='query_tree'")
        con.execute(f"pragma profiling_output='{out}'")
    t = time.perf_counter()
    con.execute(f"create table bench_sql.{name} as {sql}")
    wall = time.perf_counter() - t
    if a.profile:
        con.execute("pragma disable_profiling")
    rows = con.execute(f"select count(*) from bench_sql.{name}").fetchone()[0]
    if not a.keep:
        con.execute(f"drop table bench_sql.{name}")
    con.close()
    print(f"{name}\t{wall:.1f}s\t{rows} rows", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("warehouse")
    ap.add_argument("sql", nargs="+")
    ap.add_argument("--memory", default="4GB")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--temp")
    ap.add_argument("--no-order", action="store_true", help="preserve_insertion_order=false")
    ap.add_argument("--profile")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        run_one(a.warehouse, a.one, a)
        return
    for sql in a.sql:
        load = os.getloadavg()
        p = subprocess.Popen([sys.executable, __file__, *sys.argv[1:], "--one", sql])   # the same options, one model
        _, status, usage = os.wait4(p.pid, 0)
        print(f"  peak RSS {usage.ru_maxrss / 1024 / 1024:.2f} GB, CPU {usage.ru_utime + usage.ru_stime:.0f}s, "
              f"load before {load[0]:.2f} {load[1]:.2f}, exit {os.waitstatus_to_exitcode(status)}", flush=True)


if __name__ == "__main__":
    main()
