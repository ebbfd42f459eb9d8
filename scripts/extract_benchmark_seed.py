"""Build the shipped benchmark seed from the public DfE files.

    .venv/bin/python scripts/extract_benchmark_seed.py [--data ../shared/research/data]
        [--out pipelines/reference/benchmark_seed.csv] [--la-codes pipelines/lib/benchmarks/la_codes.csv]

Reads the files with the same readers the pipeline uses and keeps the compact set the
comparison marts need without any real file present: national KS4 and 16-18 figures for the
trust's breakdowns (latest publication, recent leaving years), national KS4 cohorts of every
year and publication (to date performance-tables files that come without their metadata),
NCCIS NEET / not known for England and regions (all years) and every LA (latest year).
Deterministic: same input files, same bytes out.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.lib.benchmarks.common import COLUMNS, frame, read_csv_rows  # noqa: E402
from pipelines.lib.benchmarks.recognise import recognise  # noqa: E402
from pipelines.lib.benchmarks.scan import scan_benchmarks  # noqa: E402

TRUST_TOPICS = ["Total", "Disadvantage", "SEN provision", "Sex", "Ethnicity major", "Disadvantage and sex"]
TRUST_BREAKDOWNS = ["Total", "Disadvantaged", "Not disadvantaged", "No SEN", "SEN support", "EHC plan",
                    "Male", "Female", "White", "Mixed Dual background", "Asian or Asian British",
                    "Black or Black British", "Any other ethnic group", "Unclassified",
                    "Disadvantaged Female", "Disadvantaged Male", "Not disadvantaged Female",
                    "Not disadvantaged Male"]
KS4_MEASURES = ["cohort", "positive_pct", "education_pct", "further_education_pct", "school_sixth_form_pct",
                "sixth_form_college_pct", "apprenticeship_pct", "employment_pct", "not_sustained_pct",
                "not_captured_pct"]
KS5_MEASURES = ["cohort", "positive_pct", "education_pct", "higher_education_pct", "further_education_pct",
                "apprenticeship_pct", "employment_pct", "not_sustained_pct", "not_captured_pct"]
NCCIS_MEASURES = ["neet_pct", "not_known_pct", "neet_not_known_pct", "participation_pct",
                  "september_guarantee_offer_pct"]
SEED_COLUMNS = [c for c in COLUMNS if c not in ("source_file", "caveat")]  # caveat is re-derived on load


def select_seed(m: pl.DataFrame) -> pl.DataFrame:
    nat = pl.col("geography_level") == "national"
    ks4_years = (m.filter((pl.col("source") == "ees_ks4_destinations") & nat & pl.col("is_latest"))
                 ["leaving_year"].drop_nulls().unique().sort().tail(2).to_list())
    ks4 = m.filter((pl.col("source") == "ees_ks4_destinations") & nat & pl.col("is_latest")
                   & (pl.col("institution_group") == "mainstream and special")
                   & pl.col("leaving_year").is_in(ks4_years)
                   & pl.col("breakdown_topic").is_in(TRUST_TOPICS) & pl.col("breakdown").is_in(TRUST_BREAKDOWNS)
                   & pl.col("measure").is_in(KS4_MEASURES))
    cohorts = m.filter((pl.col("source") == "ees_ks4_destinations") & nat
                       & (pl.col("institution_group") == "mainstream and special")
                       & (pl.col("breakdown_topic") == "Total") & (pl.col("measure") == "cohort"))
    ks5 = m.filter((pl.col("source") == "performance_tables_1618") & nat & pl.col("is_latest")
                   & pl.col("breakdown_topic").is_in(["Total", "Disadvantage"])
                   & pl.col("measure").is_in(KS5_MEASURES))
    ks5_years = ks5["leaving_year"].drop_nulls().unique().sort().tail(1).to_list()
    ks5 = ks5.filter(pl.col("leaving_year").is_in(ks5_years))
    nccis = m.filter(pl.col("source") == "nccis_neet")
    latest_period = nccis["period"].max()
    neet_area = nccis.filter(pl.col("geography_level").is_in(["national", "regional"])
                             & (pl.col("breakdown_topic") == "Total") & pl.col("measure").is_in(NCCIS_MEASURES))
    neet_sen = nccis.filter(nat & (pl.col("breakdown_topic") == "SEN provision")
                            & (pl.col("measure") == "neet_not_known_pct"))
    neet_la = nccis.filter((pl.col("geography_level") == "la") & (pl.col("period") == latest_period)
                           & (pl.col("breakdown_topic") == "Total")
                           & pl.col("measure").is_in(["neet_pct", "not_known_pct", "neet_not_known_pct"]))
    seed = pl.concat([ks4, cohorts, ks5, neet_area, neet_sen, neet_la]).unique(keep="first")
    return seed.select(SEED_COLUMNS).sort(
        ["source", "publication", "geography_level", "geography_code", "key_stage", "leaving_year", "period",
         "institution_group", "breakdown_topic", "breakdown", "measure"], nulls_last=True)


def la_codes(data: Path) -> list[dict]:
    """old_la_code, new_la_code, la_name from NCCIS scorecards (newest file wins)."""
    out: dict[str, dict] = {}
    for p in sorted(data.rglob("*.csv")):
        if recognise(p) != "nccis_la_dashboard":
            continue
        _, rows = read_csv_rows(p)
        for r in rows:
            old, new = r.get("old_la_code", "").strip(), r.get("new_la_code", "").strip()
            if old and new:
                key = (r.get("time_period", ""), old)
                out[old] = max(out.get(old, {"_k": ("", "")}), {"_k": key, "old_la_code": old,
                               "new_la_code": new, "la_name": r.get("la_name", "")}, key=lambda d: d["_k"])
    return [{k: v for k, v in d.items() if k != "_k"} for _, d in sorted(out.items())]


def write_csv(df: pl.DataFrame, path: Path) -> None:
    """Plain, stable CSV: booleans true/false, floats in shortest repr, LF line ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(df.columns)
        for row in df.iter_rows():
            w.writerow(["" if v is None else ("true" if v is True else "false" if v is False else
                        repr(v) if isinstance(v, float) else v) for v in row])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "research" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "pipelines" / "reference" / "benchmark_seed.csv")
    ap.add_argument("--la-codes", type=Path, default=ROOT / "pipelines" / "lib" / "benchmarks" / "la_codes.csv")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"no data directory {args.data}", file=sys.stderr)
        return 1
    result = scan_benchmarks(args.data, seed=frame([]),
                             only={"ees_ks4", "nccis_la_dashboard", "perf_tables_ks5", "perf_tables_meta"})
    seed = select_seed(result.measures)
    write_csv(seed, args.out)
    codes = la_codes(args.data)
    with open(args.la_codes, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, ["old_la_code", "new_la_code", "la_name"], lineterminator="\n")
        w.writeheader()
        w.writerows(codes)
    print(f"{args.out}: {seed.height} rows "
          + ", ".join(f"{s} {n}" for s, n in seed.group_by("source").len().sort("source").rows()))
    print(f"{args.la_codes}: {len(codes)} local authorities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
