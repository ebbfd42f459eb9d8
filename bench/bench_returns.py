"""Benchmark: validate and load a 100,000-row destination return (target: under 10 seconds).

    .venv/bin/python bench/bench_returns.py [--rows 100000] [--xlsx]

Builds one return with realistic variety (labels, a few bad rows, temporary UPNs,
formula-looking provider names), then times, in a throw-away data directory:
  1. `submit_file` (read, validate every rule, write the feedback report, file it);
  2. the `destination_returns` load of that partition (re-validate as submit does, replace the
     partition's rows in one transaction);
  3. a re-run with nothing changed (must be cheap).
Imports are warmed first and timed separately (they are paid once per process).
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build_return(n: int, seed: int = 7) -> list[list[str]]:
    from pipelines.config import destination_codes
    from pipelines.lib.upn import make_upn

    rnd = random.Random(seed)
    codes = [c for c in destination_codes() if c != "UND"]
    labels = {c: r["label"] for c, r in destination_codes().items()}
    header = ["Unique Pupil Number", "NC Year", "Gender", "Pupil Premium", "SEN Status", "Destination",
              "FSM Eligible", "Looked After", "Ethnicity", "Route", "Provider", "Provider ID", "Level",
              "September Guarantee", "Consent Follow Up", "Date Ascertained"]
    rows = [header]
    for i in range(n):
        upn = make_upn(300 + i % 600, 4000 + (i // 600) % 5000, 20 + i % 5, i % 1000)
        code = rnd.choice(codes)
        rows.append([
            upn, rnd.choice(["11", "11", "12", "13", "Year 11"]), rnd.choice(["M", "F", "Male", "Female"]),
            rnd.choice("YN"), rnd.choice(["N", "N", "N", "K", "E", "SEN support"]),
            labels[code] if i % 7 == 0 else code, rnd.choice("YN"), "N",
            rnd.choice(["WBRI", "BAFR", "AIND", "MWBC", ""]), rnd.choice(["Digital", "Academic", ""]),
            "=cmd|' /C calc'!A0" if i % 5000 == 0 else rnd.choice(["Oak College", "Elm Sixth Form", ""]),
            str(10000000 + i % 90000), rnd.choice(["1", "2", "3", "4+", ""]),
            rnd.choice(["offer_made", "no_offer", ""]), "Y", "2024-11-01",
        ])
    # a few problems, as real files have
    for j in range(1, n, 2000):
        rows[j][0] = "X" + rows[j][0][1:]          # bad check letter
    for j in range(3, n, 3000):
        rows[j][5] = "120"                        # pre-16 code
    return rows


def to_bytes(rows: list[list[str]], xlsx: bool) -> bytes:
    if not xlsx:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows(rows)
        return buf.getvalue().encode("utf-8")
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "constant_memory": True})
    ws = wb.add_worksheet("Return")
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            if v:
                ws.write_string(i, j, v)
    wb.close()
    return buf.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--xlsx", action="store_true", help="submit an XLSX file instead of CSV")
    args = ap.parse_args()

    t0 = time.perf_counter()
    import duckdb

    import pipelines.config  # noqa: F401
    from pipelines.lib.returns.ingest import load_partition
    from pipelines.lib.returns.submit import submit_file
    import polars  # noqa: F401
    import fastexcel  # noqa: F401
    import openpyxl  # noqa: F401
    t_import = time.perf_counter() - t0

    rows = build_return(args.rows)
    data = to_bytes(rows, args.xlsx)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        (root / "raw").mkdir(parents=True)
        (root / "warehouse").mkdir()
        (root / "raw" / "academies.csv").write_text(
            "urn,name,la_code,phase,has_sixth_form,joined_trust\n100001,Bench Academy,352,secondary,Y,2019-09-01\n")
        os.environ["DESTINATIONS_DATA_DIR"] = str(root)
        src = Path(tmp) / ("bench.xlsx" if args.xlsx else "bench.csv")
        src.write_bytes(data)
        # warm the code paths on a tiny file so one-off costs (lazy imports, caches) are not counted
        small = Path(tmp) / "warm.csv"
        small.write_bytes(to_bytes(build_return(50), False))
        submit_file(small, academy_urn="100001", leaving_year="2023-24", round_id="R1", data_dir=root)
        con = duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"))
        load_partition(pipelines.config.paths(root), con, "2023-24", "R1")
        con.close()

        c1 = time.process_time()
        t1 = time.perf_counter()
        out = submit_file(src, academy_urn="100001", leaving_year="2024-25", round_id="R1", data_dir=root)
        t_submit = time.perf_counter() - t1
        cpu_submit = time.process_time() - c1

        con = duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"))
        c2 = time.process_time()
        t2 = time.perf_counter()
        res = load_partition(pipelines.config.paths(root), con, "2024-25", "R1")
        t_load = time.perf_counter() - t2
        cpu_load = time.process_time() - c2
        t3 = time.perf_counter()
        again = load_partition(pipelines.config.paths(root), con, "2024-25", "R1")
        t_rerun = time.perf_counter() - t3
        loaded = con.execute("select count(*) from raw.destination_returns where leaving_year='2024-25'").fetchone()[0]
        con.close()

    kind = "XLSX" if args.xlsx else "CSV"
    total = t_submit + t_load
    print(f"destination return benchmark: {args.rows:,} rows, {kind}, {len(data) / 1e6:.1f} MB")
    print(f"  imports (once per process)          {t_import:6.2f} s")
    print(f"  submit: read + validate + feedback  {t_submit:6.2f} s  -> {out.status}, "
          f"{out.rows_accepted:,} accepted, {out.rows_rejected:,} excluded, {out.warnings:,} warnings")
    print(f"  pipeline load of the partition      {t_load:6.2f} s  -> {res.rows_loaded:,} rows in raw.destination_returns")
    print(f"  re-run with nothing changed         {t_rerun:6.2f} s  (unchanged={again.unchanged})")
    print(f"  validate and load (submit + load)   {total:6.2f} s  (target < 10 s: {'met' if total < 10 else 'NOT met'})")
    print(f"  CPU time of those two steps         {cpu_submit + cpu_load:6.2f} s  "
          f"(machine load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    assert loaded == out.rows_accepted == res.rows_loaded
    return 0


if __name__ == "__main__":
    sys.exit(main())
