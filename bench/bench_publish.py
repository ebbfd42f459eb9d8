"""Benchmark: the publish steps (governor packs, public statements, trustee pack) on a built snapshot.

    .venv/bin/python bench/bench_publish.py --data DIR [--work /tmp/x] [--profile gov|pub|trustee] [--together]

DIR is a data directory after `destinations run` (its warehouse/serving snapshot is copied, never
written). Times, wall and CPU seconds per step, in that order:
  a. full:    an empty reports folder (every document rendered);
  b. same:    a re-run with nothing changed (nothing should be rendered);
  c. one:     one academy's figures changed in a copy of the snapshot (its destination_measures,
              neet_not_known and public statement rows; the manifest's content hashes of those marts
              change as a publish would change them), then a re-run: only that academy's governor
              pack and statement, and the trustee pack, should be rendered;
  d. one+trust: another academy's figures and the trust's totals changed, as a real corrected return
              changes them: every governor pack shows the trust's figures, so all are drawn again,
              one statement and the trustee pack.
Prints one table (cpu: this process; cpu with workers: with the document worker processes) and,
with --profile, the top of a cProfile of that step in case (a).
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _steps(serving: Path, reports: Path):
    from pipelines.lib.public.governors import write_governor_packs
    from pipelines.lib.public.statement import load_rows, statement_years, write_statements
    from pipelines.lib.report import report_years

    year = report_years(serving)[0]
    pub_year = statement_years(load_rows(serving))[0]

    def gov():
        w = write_governor_packs(serving, year, reports / "governors" / year)
        return sum(1 for x in w if x["rendered"])

    def pub():
        w = write_statements(serving, pub_year, reports / "public" / pub_year, "Bench Trust")
        return sum(1 for x in w if x["rendered"])

    def trustee():
        try:
            from pipelines.lib.report.build import write_trustee_pack
        except ImportError:  # before: the asset's marker of the snapshot version
            from pipelines.lib.publish import read_manifest
            from pipelines.lib.report import build_pack
            version = read_manifest(serving).get("version", "")
            marker = reports / ".built_from_snapshot"
            if marker.exists() and marker.read_text().strip() == f"{year} {version}":
                return 0
            build_pack(year, reports / year, serving)
            marker.write_text(f"{year} {version}\n")
            return 1
        return int(write_trustee_pack(serving, year, reports / year)["rendered"])

    return {"governor packs": gov, "public statements": pub, "trustee pack": trustee}


def _together(serving: Path, reports: Path):
    """The three kinds drawn in one list, as the pipeline's `documents` step draws them."""
    from pipelines.lib.public.governors import governor_batch
    from pipelines.lib.public.statement import load_rows, statement_batch, statement_years
    from pipelines.lib.report import report_years
    from pipelines.lib.report.build import trustee_batch
    from pipelines.lib.report.documents import draw_batches

    year = report_years(serving)[0]
    pub_year = statement_years(load_rows(serving))[0]

    def all_kinds():
        batches = [trustee_batch(serving, year, reports / year),
                   governor_batch(serving, year, reports / "governors" / year),
                   statement_batch(serving, pub_year, reports / "public" / pub_year, "Bench Trust")]
        out = draw_batches(batches)
        bad = [v for v in out.values() if isinstance(v, BaseException)]
        if bad:
            raise bad[0]
        return len([b for b in batches for _ in b.jobs])

    return {"all documents": all_kinds}


def _change_one_academy(serving: Path, trust_too: bool = False) -> str:
    """Change one academy's figures in the snapshot copy: +1 leaver and +2.5 points of NEET in its
    published destination_measures / neet_not_known rows, its statement's NEET text; new hashes.
    With trust_too, the trust's rows (academy_urn null) move too, as a real correction moves them."""
    import polars as pl

    dm = pl.read_parquet(serving / "destination_measures_published.parquet")
    urns = sorted(dm.filter(pl.col("level") == "academy")["academy_urn"].unique().to_list())
    urn = urns[(len(dm) + trust_too) % len(urns)]
    changed = []
    for name, cols in (("destination_measures_published", ["neet_pct", "cohort"]),
                       ("destination_measures", ["neet_pct", "cohort"]),
                       ("neet_not_known_published", ["neet_pct"]), ("neet_not_known", ["neet_pct"]),
                       ("public_destination_statement", ["public_text"])):
        f = serving / f"{name}.parquet"
        if not f.exists():
            continue
        t = pl.read_parquet(f)
        mine = (pl.col("academy_urn") == urn) | (pl.col("academy_urn").is_null() if trust_too else pl.lit(False))
        exprs = []
        for c in cols:
            if c == "public_text":
                exprs.append(pl.when(mine & (pl.col("measure") == "neet")).then(pl.lit("99%"))
                             .otherwise(pl.col(c)).alias(c))
            elif c == "cohort":
                exprs.append(pl.when(mine).then(pl.col(c) + 1).otherwise(pl.col(c)).alias(c))
            else:
                exprs.append(pl.when(mine).then(pl.col(c) + 2.5).otherwise(pl.col(c)).alias(c))
        f.unlink()                         # a hard link to the source snapshot: write a new file
        t.with_columns(exprs).write_parquet(f)
        changed.append(name)
    m = json.loads((serving / "_manifest.json").read_text())
    m["version"] = m.get("version", "") + "-one"
    for name in changed:
        if name in m.get("hashes", {}):
            m["hashes"][name] += ":changed"
    (serving / "_manifest.json").write_text(json.dumps(m))
    return urn


def tree_cpu() -> float:
    """CPU seconds of this process and every process under it (worker processes, and the ones
    they started and reaped), from /proc; this process's own when /proc is not there."""
    try:
        tick = os.sysconf("SC_CLK_TCK")
        stat = {}
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    f = (d / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                stat[int(d.name)] = (int(f[1]), sum(int(x) for x in f[11:15]))   # ppid; utime stime cutime cstime
        mine, total, grew = {os.getpid()}, 0, True
        while grew:
            more = {p for p, (pp, _) in stat.items() if pp in mine} - mine
            grew = bool(more)
            mine |= more
        return sum(stat[p][1] for p in mine if p in stat) / tick
    except (OSError, ValueError, IndexError):
        return time.process_time()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--work", type=Path)
    ap.add_argument("--profile", choices=["governor packs", "public statements", "trustee pack", "gov", "pub",
                                          "trustee"])
    ap.add_argument("--together", action="store_true",
                    help="draw the three kinds in one list (the pipeline's documents step), not one after another")
    args = ap.parse_args()
    os.environ.setdefault("DESTINATIONS_DATA_DIR", str(args.data))
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-publish-"))
    serving = work / "serving"
    if serving.exists():
        shutil.rmtree(serving)
    shutil.copytree(os.path.realpath(args.data / "warehouse" / "serving"), serving)
    reports = work / "reports"
    shutil.rmtree(reports, ignore_errors=True)
    prof = {"gov": "governor packs", "pub": "public statements", "trustee": "trustee pack"}.get(args.profile,
                                                                                                args.profile)
    results = []
    for case in ("a. full", "b. same", "c. one", "d. one+trust"):
        note = ""
        if case.startswith("c."):
            note = f" ({_change_one_academy(serving)})"
        if case.startswith("d."):
            note = f" ({_change_one_academy(serving, trust_too=True)})"
        for name, fn in (_together if args.together else _steps)(serving, reports).items():
            pr = cProfile.Profile() if (prof == name and case == "a. full") else None
            w0, c0, t0 = time.perf_counter(), time.process_time(), tree_cpu()
            if pr:
                pr.enable()
            n = fn()
            if pr:
                pr.disable()
            results.append((case + note, name, time.perf_counter() - w0, time.process_time() - c0, n))
            print(f"{case + note:<22} {name:<18} wall {results[-1][2]:6.1f} s  cpu {results[-1][3]:6.1f} s  "
                  f"cpu with workers {tree_cpu() - t0:6.1f} s  rendered {n}  load {os.getloadavg()[0]:.1f}",
                  flush=True)
            if pr:
                pstats.Stats(pr).sort_stats("cumulative").print_stats(25)
    print(f"\nreports in {reports}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
