"""Read every recognised file under raw/benchmarks, add the shipped seed, de-duplicate and
mark the newest publication of each figure (`is_latest`)."""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from . import ees, gias, lait, ltd, nccis, perf_tables
from .common import COLUMNS, SCHEMA, BenchmarkFileError, ReadResult, caveat_for, frame
from .gias import ESTAB_SCHEMA, LINKS_SCHEMA, TYPES_SCHEMA
from .recognise import COMPANIONS, NOT_USED, recognise

PACKAGE_DIR = Path(__file__).resolve().parent
SEED_CSV = PACKAGE_DIR.parent.parent / "reference" / "benchmark_seed.csv"
LA_CODES_CSV = PACKAGE_DIR / "la_codes.csv"

# One published figure: a publication may give it once; several publications may repeat it.
FIGURE_KEY = ["source", "figure_year", "destination_year", "geography_level", "geography_code", "key_stage",
              "institution_group", "breakdown_topic", "breakdown", "measure"]

READERS = {
    "ees_ks4": ees.read_ees_ks4,
    "ees_lad": ees.read_ees_lad,
    "nccis_la_dashboard": nccis.read_nccis,
    "lait_long": lait.read_lait,
    "ees_ltd": ltd.read_ltd,
    "gias_links": gias.read_gias_links,
    "gias_establishment_types": gias.read_gias_types,
    "gias_establishments": gias.read_gias_establishments,
}
TABLE_SCHEMAS = {"gias_links": LINKS_SCHEMA, "gias_establishment_types": TYPES_SCHEMA,
                 "gias_establishments": ESTAB_SCHEMA}


@dataclass
class FileReport:
    file: str
    status: str          # loaded | companion | not_used | unrecognised | failed
    kind: str | None = None
    rows: int = 0
    message: str = ""


@dataclass
class ScanResult:
    measures: pl.DataFrame
    tables: dict[str, pl.DataFrame]
    files: list[FileReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        by_status: dict[str, int] = {}
        for f in self.files:
            by_status[f.status] = by_status.get(f.status, 0) + 1
        return {"files": by_status,
                "rows_by_source": {s: n for s, n in self.measures.group_by("source").len().sort("source").rows()}}


def load_seed(path: Path = SEED_CSV) -> pl.DataFrame:
    """The shipped compact seed (same columns as benchmark_measures)."""
    if not path.exists():
        return frame([])
    df = pl.read_csv(path, infer_schema=False)
    df = df.with_columns([pl.lit(None).alias(c) for c in COLUMNS if c not in df.columns])
    cav = {k: caveat_for(*k) for k in df.select("source", "measure", "methodology").unique().rows()}
    df = df.with_columns(
        pl.struct("source", "measure", "methodology").map_elements(
            lambda s: cav[(s["source"], s["measure"], s["methodology"])], return_dtype=pl.Utf8).alias("caveat"),
        pl.lit("seed").alias("source_file"),
                         pl.col("is_latest").is_in(["true", "True", "1"]),
                         pl.col("suppressed").is_in(["true", "True", "1"]))
    return df.select([pl.col(c).cast(SCHEMA[c]) for c in COLUMNS])


def _la_codes() -> list[dict]:
    if not LA_CODES_CSV.exists():
        return []
    with open(LA_CODES_CSV, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def la_lookup() -> dict[str, str]:
    """ONS LA code (E06/E08/E09/E10) -> old 3-digit LA number."""
    return {r["new_la_code"]: r["old_la_code"] for r in _la_codes() if r["new_la_code"]}


def la_names() -> dict[str, str]:
    """Old 3-digit LA number -> LA name."""
    return {r["old_la_code"]: r["la_name"] for r in _la_codes() if r["la_name"]}


def _files(root: Path) -> list[Path]:
    """Every non-hidden file below root, following linked folders (each real folder once)."""
    if not root.exists():
        return []
    out, seen = [], set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        out += [Path(dirpath) / f for f in filenames if not f.startswith(".")]
    return sorted(p for p in out if p.is_file())


def national_cohorts(df: pl.DataFrame) -> dict[tuple[str, int], int]:
    """(key stage, national cohort) -> start year of the leaving year, from loaded figures."""
    sel = df.filter((pl.col("geography_level") == "national") & (pl.col("measure") == "cohort")
                    & (pl.col("breakdown_topic") == "Total") & pl.col("leaving_year").is_not_null()
                    & pl.col("value").is_not_null()
                    & (((pl.col("key_stage") == "KS4") & (pl.col("institution_group") == "mainstream and special"))
                       | ((pl.col("key_stage") == "16-18") & (pl.col("institution_group") == "mainstream"))))
    return {(ks, int(v)): int(ly[:4]) for ks, v, ly in sel.select("key_stage", "value", "leaving_year").rows()}


def scan_benchmarks(root: Path, seed: pl.DataFrame | None = None, only: set[str] | None = None) -> ScanResult:
    """Read everything under `root` (raw/benchmarks). Bad or unknown files are reported, never raised.
    `only` limits reading to these format ids (the seed script needs just a few)."""
    seed = load_seed() if seed is None else seed
    reports: list[FileReport] = []
    warnings: list[str] = []
    parts: list[pl.DataFrame] = []
    tables: dict[str, list[pl.DataFrame]] = {}
    pending_pt: list[tuple[Path, str, str]] = []
    used: set[Path] = set()
    found = []
    for path in _files(root):
        rel = path.relative_to(root).as_posix()
        kind = recognise(path)
        if only is not None and kind is not None and kind not in only:
            continue
        found.append((path, rel, kind))
    for path, rel, kind in found:
        if kind in ("perf_tables_ks4", "perf_tables_ks5"):
            pending_pt.append((path, rel, kind))
            continue
        if kind is None or kind in COMPANIONS or kind in NOT_USED:
            continue
        _run(READERS[kind], path, rel, kind, reports, warnings, parts, tables, used)
    # performance tables last: without their meta file they can be dated by a national cohort
    known = national_cohorts(pl.concat([seed, *parts]) if parts else seed)
    for path, rel, kind in pending_pt:
        _run(lambda p, r: perf_tables.read_perf_tables(p, r, known), path, rel, kind,
             reports, warnings, parts, tables, used)
    for path, rel, kind in found:
        if kind is None:
            msg = (f"{rel}: not a recognised benchmark file (its columns match no published DfE, NCCIS, "
                   f"LAIT or GIAS format); it was ignored. Use the file as downloaded, not an edited copy")
            reports.append(FileReport(rel, "unrecognised", None, 0, msg))
            warnings.append(msg)
        elif kind in COMPANIONS:
            reports.append(FileReport(rel, "companion", kind, 0,
                                      "used by its data file" if path in used else "companion file, no figures"))
        elif kind in NOT_USED:
            reports.append(FileReport(rel, "not_used", kind, 0, "recognised; carries no figures the warehouse compares"))
    measures = harmonise([*parts, seed])
    out_tables = {name: (pl.concat(dfs).unique(keep="first", maintain_order=True) if dfs
                         else pl.DataFrame(schema=TABLE_SCHEMAS[name]))
                  for name, dfs in {n: tables.get(n, []) for n in TABLE_SCHEMAS}.items()}
    return ScanResult(measures=measures, tables=out_tables, files=reports, warnings=warnings)


def _run(reader, path, rel, kind, reports, warnings, parts, tables, used) -> None:
    try:
        res: ReadResult = reader(path, rel)
    except BenchmarkFileError as exc:
        reports.append(FileReport(rel, "failed", kind, 0, str(exc)))
        warnings.append(str(exc))
        return
    except Exception as exc:  # a damaged file must never stop the run
        msg = f"{rel}: recognised as {kind} but could not be read ({type(exc).__name__}: {exc}); it was skipped"
        reports.append(FileReport(rel, "failed", kind, 0, msg))
        warnings.append(msg)
        return
    used.update(res.used_files)
    df = res.measures()
    parts.append(df)
    for name, t in res.tables.items():
        tables.setdefault(name, []).append(t)
    n = df.height + sum(t.height for t in res.tables.values())
    reports.append(FileReport(rel, "loaded", res.kind, n, "; ".join(res.warnings)))
    warnings.extend(w for w in res.warnings if "skipped" in w)


def harmonise(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Union, map districts that are whole LAs to the LA number, drop repeated figures
    (first part wins, so files beat the seed), and recompute is_latest."""
    parts = [p.select(COLUMNS) for p in parts if p.height]
    if not parts:
        return frame([])
    df = pl.concat(parts, how="vertical_relaxed")
    lk = la_lookup()
    if lk:
        is_la = (pl.col("geography_level") == "lad") & pl.col("geography_code").is_in(list(lk))
        mapped = pl.col("geography_code").replace(lk)
        df = df.with_columns(
            pl.when(is_la).then(pl.lit("la")).otherwise(pl.col("geography_level")).alias("geography_level"),
            pl.when(is_la).then(mapped).otherwise(pl.col("la_code")).alias("la_code"),
            pl.when(is_la).then(mapped).otherwise(pl.col("geography_code")).alias("geography_code"),
        )
    names = la_names()
    if names:  # performance-table LA rows carry only the number
        df = df.with_columns(pl.when((pl.col("geography_level") == "la") & pl.col("geography_name").is_null())
                             .then(pl.col("geography_code").replace_strict(names, default=None))
                             .otherwise(pl.col("geography_name")).alias("geography_name"))
    # one text key per figure (cheaper to group on than ten columns)
    figure_year = pl.coalesce("leaving_year", pl.concat_str(pl.lit("period "), "period"))
    key = pl.concat_str([(figure_year if c == "figure_year" else pl.col(c)).cast(pl.Utf8).fill_null("")
                         for c in FIGURE_KEY], separator="|")
    df = df.with_columns(key.alias("_figure"))
    df = df.unique(subset=["_figure", "publication"], keep="first")
    # newest publication first, then the first row of each figure is the latest
    df = df.sort(["publication_order", "publication"], descending=True, nulls_last=True)
    df = df.with_columns((pl.int_range(pl.len()).over("_figure") == 0).alias("is_latest"))
    return df.select([pl.col(c).cast(SCHEMA[c]) for c in COLUMNS])
