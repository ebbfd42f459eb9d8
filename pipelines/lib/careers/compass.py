"""Validate Compass evaluation exports into raw rows (contract §6).

Columns: urn, evaluation_date, framework_version (2018 | 2025), benchmark (1-8),
percent_achieved (0-100), and optionally criterion + criterion_status for criterion-level rows.
The 2025 framework applies from 1 September 2025 (research/domain.md §6.2); a 2025 evaluation
dated earlier is an error, a 2018 one dated later a warning (kept as 2018, never compared).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from typing import Callable, Iterable

import polars as pl

from pipelines.lib.careers.fsq import max_invalid_share
from pipelines.lib.careers.reading import (academic_year_of, map_unique as _mapu, no_rows, parse_date, parse_int,
                                         read_grid, term_of)
from pipelines.lib.careers.results import BatchFeedback, FileResult, file_problem, file_slices, file_verdict
from pipelines.lib.intake.guard import Limits
from pipelines.lib.intake.read import ROW, clean_cells, read_ahead
from pipelines.lib.problems import Problem
from pipelines.lib.returns.spec import norm_header

FRAMEWORK_2025_FROM = date(2025, 9, 1)
REQUIRED = ["urn", "evaluation_date", "framework_version", "benchmark", "percent_achieved"]
OPTIONAL = ["criterion", "criterion_status"]
ALIASES = {norm_header(a): f for f, names in {
    "urn": ["urn", "school urn", "establishment urn", "unique reference number", "institution urn"],
    "evaluation_date": ["evaluation_date", "evaluation date", "date", "date completed", "completed on",
                        "submitted date", "date of evaluation"],
    "framework_version": ["framework_version", "framework", "framework version", "version", "benchmarks version"],
    "benchmark": ["benchmark", "benchmark number", "gatsby benchmark", "bm"],
    "percent_achieved": ["percent_achieved", "percent achieved", "% achieved", "percentage achieved",
                         "percentage", "percent", "score", "% complete", "percent complete"],
    "criterion": ["criterion", "criteria", "criterion id", "criterion ref"],
    "criterion_status": ["criterion_status", "criterion status", "status"],
}.items() for a in names}
STATUS = {"fully achieved": "Fully achieved", "achieved": "Fully achieved", "in progress": "In progress",
          "not started": "Not started", "not achieved": "Not started"}
RAW_SCHEMA = {
    "academy_urn": pl.Utf8, "evaluation_date": pl.Date, "academic_year": pl.Utf8, "term": pl.Utf8,
    "framework_version": pl.Utf8, "benchmark": pl.Int32, "criterion": pl.Utf8, "criterion_status": pl.Utf8,
    "percent_achieved": pl.Float64, "source_file": pl.Utf8, "file_sha256": pl.Utf8, "source_row": pl.Int32,
}


def _framework(v: str | None) -> str | None:
    if v is None:
        return None
    m = re.search(r"(2018|2025)", str(v))
    return m.group(1) if m else str(v).strip()


def _percent(v: str | None) -> float | None:
    if v is None:
        return None
    s = str(v).strip().rstrip("%").strip()
    try:
        x = float(s)
    except ValueError:
        return None
    return x


def validate_compass(data: bytes, name: str, academy_urn: str, known_urns: set[str] | None = None,
                     today: date | None = None) -> FileResult:
    """Validate one Compass export found at raw/compass/<academy_urn>/<name>."""
    return validate_compass_batch([(data, name, academy_urn)], known_urns, today)[0]


def validate_compass_batch(files: Iterable[tuple[bytes, str, str]], known_urns: set[str] | None = None,
                           today: date | None = None, chunk_rows: int | None = None,
                           on_checked: Callable[[list[FileResult]], None] | None = None,
                           limits: Limits | None = None) -> list[FileResult]:
    """Validate many exports [(data, name, urn)] (any iterable: read as it goes; a fourth element, when
    given, is the SHA-256 of the data, so it is not hashed again): each file is read on
    its own, then the rows of all the files are parsed and checked together, one vectorised pass per
    rule (one frame per `chunk_rows` rows); each file's feedback comes from its own rows, exactly as if
    checked alone. `on_checked(results)` is called with each checked chunk's results."""
    today = today or date.today()
    limits = limits or Limits.from_config()
    out: list[FileResult] = []
    chunk: list[tuple[FileResult, pl.DataFrame]] = []
    size, limit = 0, chunk_rows or CHUNK_ROWS

    def check(chunk):
        _check_files(chunk, today)
        if on_checked:
            on_checked([res for res, _ in chunk])

    def prepare(d, n, u, sha=None):
        return _prepare(d, n, u, known_urns, limits, sha)

    for res, raw in read_ahead(files, prepare):
        out.append(res)
        if raw is None:
            continue
        if chunk and size + raw.body.height > limit:
            check(chunk)
            chunk, size = [], 0
        chunk.append((res, raw))
        size += raw.body.height
    if chunk:
        check(chunk)
    return out


CHUNK_ROWS = 2_000_000


@dataclass
class _Cells:
    """A file's cells as read (`body`: c0..cN text + _row), its {field: column index} and header row."""
    body: pl.DataFrame
    cols: dict[str, int]
    header_row: int


def _gx_frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select("urn", pl.col("evaluation_date").cast(pl.Utf8), "framework_version", "benchmark",
                        "percent_achieved", pl.col("criterion_status").str.to_lowercase())


def _prepare(data: bytes, name: str, academy_urn: str, known_urns: set[str] | None,
             limits: Limits, sha: str | None = None) -> tuple[FileResult, _Cells | None]:
    """File-level checks and reading; (result, the file's cells as read, or None when rejected). Its
    cells are cleaned with the other files' (`_clean`: a Compass export is a few dozen rows, and one
    polars query per file cost more than the rows). `sha`: the SHA-256 of `data` when the caller
    already has it (else computed here)."""
    res = FileResult("compass", name, academy_urn, None, sha or hashlib.sha256(data).hexdigest(), layout="compass")
    if known_urns is not None and academy_urn not in known_urns:
        res.problems.append(file_problem(
            name, "unknown_academy", f"the folder '{academy_urn}' is not the URN of an academy in the trust register",
            "put the file in the folder named after the academy's 6-digit URN (raw/compass/<URN>/)"))
        return res, None
    grid, cols = read_grid(data, name, ALIASES, REQUIRED, what="Compass export", limits=limits, raw_cells=True)
    res.problems += grid.problems
    if grid.rejected:
        if grid.body is not None:   # a required column missing: its rows are still counted
            res.rows_total = _cleaned([_Cells(grid.body, cols, grid.header_row)]).height
        return res, None
    res.headers = {f: grid.header[j] for f, j in cols.items()}
    return res, _Cells(grid.body, cols, grid.header_row)


def _cleaned(files: list[_Cells]) -> pl.DataFrame:
    """The files' cells cleaned and their blank rows dropped (intake `clean_cells`, as `read_table`
    does for one file), in one polars query: their fields' raw text (`<field>_raw`) and `_row`,
    tagged `_file` (their index)."""
    fields = [f"{f}_raw" for f in REQUIRED + OPTIONAL]
    frames = []
    for raw in files:
        name = {j: f"{f}_raw" for f, j in raw.cols.items()}
        # a file's fields under one name for every file; its other cells (blank or not) by position
        frames.append(pl.DataFrame([raw.body[ROW]] + [raw.body[f"c{j}"].alias(name.get(j, f"_c{j}"))
                                                      for j in range(raw.body.width - 1)]))
    every = pl.concat(frames, how="diagonal").with_columns(
        _file=pl.Series(range(len(files)), dtype=pl.Int32).repeat_by(pl.Series([f.height for f in frames])).explode())
    cells = [c for c in every.columns if c not in (ROW, "_file")]
    return (clean_cells(every.lazy(), cells).filter(pl.any_horizontal([pl.col(c).is_not_null() for c in cells]))
            .select(ROW, *[pl.col(f).cast(pl.Utf8) if f in cells else pl.lit(None, pl.Utf8).alias(f) for f in fields],
                    "_file").collect())


def _clean(chunk: list[tuple[FileResult, _Cells]]) -> tuple[list[FileResult], pl.DataFrame]:
    """Every file's cells cleaned at once (`_cleaned`); each file's rows counted, and a file left
    without rows rejected (`no_rows`). The files with rows, and their rows (`_file` = index among them)."""
    big = _cleaned([raw for _, raw in chunk])
    counts = dict(big["_file"].value_counts().iter_rows())
    live = []
    for k, (res, raw) in enumerate(chunk):
        res.rows_total = counts.get(k, 0)
        if res.rows_total:
            live.append(k)
        else:
            res.headers = {}
            res.problems.append(no_rows(res.file, raw.header_row))
    if len(live) < len(chunk):
        big = big.with_columns(pl.col("_file").replace_strict({k: n for n, k in enumerate(live)}, return_dtype=pl.Int32))
    return [chunk[k][0] for k in live], big


def _parse(frame: pl.DataFrame) -> pl.DataFrame:
    """Parsed values of every file's rows at once (each distinct raw value parsed once)."""
    return frame.with_columns(
        urn=pl.col("urn_raw").str.strip_chars().str.replace(r"\.0$", ""),
        evaluation_date=_mapu(pl.col("evaluation_date_raw"), parse_date, pl.Date),
        framework_version=_mapu(pl.col("framework_version_raw"), _framework, pl.Utf8),
        benchmark=_mapu(pl.col("benchmark_raw"), parse_int, pl.Int32),
        percent_achieved=_mapu(pl.col("percent_achieved_raw"), _percent, pl.Float64),
        criterion=pl.col("criterion_raw").str.strip_chars(),
        criterion_status=pl.col("criterion_status_raw").str.strip_chars())


def _check_files(chunk: list[tuple[FileResult, _Cells]], today: date) -> None:
    """Row checks, the invalid-share rule and the rows to land, for the files of one chunk."""
    results, big = _clean(chunk)
    if not results:
        return
    big = _parse(big)
    fb = BatchFeedback(results, big)
    bad = _row_checks(big, fb, results, today)
    stats = (big.select("_file", "_row", "criterion", bad.alias("_bad")).group_by("_file")
             .agg(pl.col("_row").filter(pl.col("_bad")).n_unique().alias("rows_bad"),
                  (~pl.col("_bad") & pl.col("criterion").is_null()).sum().alias("benchmark_rows")))
    stats = {f: (rb, g) for f, rb, g in stats.iter_rows()}
    limit = max_invalid_share()
    for f, res in enumerate(results):
        res.problems += fb.problems[f]
        rows_bad, benchmark_rows = stats.get(f, (0, 0))
        file_verdict(res, rows_bad, benchmark_rows, limit, "benchmark row")
    keep = [f for f, res in enumerate(results) if not res.rejected]
    if not keep:
        return

    def per_file(attr: str) -> pl.Expr:
        return pl.col("_file").replace_strict({f: getattr(results[f], attr) for f in keep}, return_dtype=pl.Utf8)

    rows = big.filter(~bad & pl.col("_file").is_in(keep)).select(
        "_file", per_file("academy_urn").alias("academy_urn"), "evaluation_date",
        _mapu(pl.col("evaluation_date"), academic_year_of, pl.Utf8).alias("academic_year"),
        _mapu(pl.col("evaluation_date"), term_of, pl.Utf8).alias("term"),
        "framework_version", "benchmark", "criterion",
        pl.col("criterion_status").str.to_lowercase().replace(STATUS).alias("criterion_status"),
        "percent_achieved", per_file("file").alias("source_file"), per_file("sha256").alias("file_sha256"),
        pl.col("_row").alias("source_row")).cast(RAW_SCHEMA)
    for f, frame in zip(keep, file_slices(rows, keep)):
        results[f].rows = frame
        results[f].rows_loaded = results[f].rows.height


def _row_checks(big: pl.DataFrame, fb: BatchFeedback, results: list[FileResult], today: date) -> pl.Series:
    """The suite + plain checks over every file's rows; problems go to `fb`. Returns the excluded rows."""
    from pipelines.lib.careers.gx_check import suite_failures

    bad = pl.repeat(False, big.height, eager=True)
    for fail in suite_failures("compass_evaluations", _gx_frame(big)):
        meta, c = fail.meta, fail.meta.get("column", "urn")
        mask = fail.mask(big) if fail.row_level else None
        if mask is None:
            if fail.exc or meta.get("severity") == "file":   # could not run: every file says so
                fb.suite_not_run(fail, c)
            continue
        fb.rows(mask, meta.get("severity", "error"), meta["rule"], meta["message"], meta["fix"], c, f"{c}_raw")
        if meta.get("severity", "error") == "error":
            bad = bad | mask
    per_file = pl.col("_file")
    # the file belongs to the academy of its folder: the first row naming another academy
    urns = big["_file"].replace_strict({f: r.academy_urn for f, r in enumerate(results)}, return_dtype=pl.Utf8)
    other = big["urn"].str.contains(r"^\d{6}$").fill_null(False) & (big["urn"] != urns).fill_null(False)
    if other.any():
        first = big.filter(other).group_by("_file", maintain_order=True).agg(pl.col("urn", "_row").first())
        for f, urn, row in first.iter_rows():
            res = results[f]
            fb.problems[f].append(file_problem(
                res.file, "urn_mismatch", f"the file is for academy {urn} but is in the folder of academy "
                f"{res.academy_urn}", "put the file in the folder named after the URN in the file, or correct the URN",
                row=int(row), column=res.headers.get("urn", "urn")))
    d = big["evaluation_date"]
    early_2025 = ((big["framework_version"] == "2025") & (d < FRAMEWORK_2025_FROM)).fill_null(False)
    fb.rows(early_2025, "error", "framework_before_2025",
            "the 2025 benchmarks apply from 1 September 2025; an evaluation dated earlier is "
            "against the 2018 framework", "check the evaluation date and the framework version",
            "framework_version", "framework_version_raw")
    late_2018 = ((big["framework_version"] == "2018") & (d >= FRAMEWORK_2025_FROM)).fill_null(False)
    first_row = big.select(pl.col("_row").is_first_distinct().over(per_file)).to_series()
    fb.rows(late_2018 & first_row, "warning", "framework_2018_after_2025",
            "this evaluation from September 2025 onwards uses the 2018 framework; it is loaded as "
            "2018 and never compared with 2025 evaluations",
            "complete the new Compass evaluation for the updated (2025) benchmarks next term",
            "framework_version", "framework_version_raw")
    future = (d > today).fill_null(False)
    fb.rows(future, "error", "date_future", "the evaluation date is in the future", "check the date",
            "evaluation_date", "evaluation_date_raw")
    bad = bad | early_2025 | future
    key = pl.concat_str([pl.col("evaluation_date").cast(pl.Utf8).fill_null(""),
                         pl.col("benchmark").cast(pl.Utf8).fill_null(""), pl.col("criterion").fill_null("")],
                        separator="|")
    dup = big.select(~key.is_first_distinct().over(per_file)).to_series() & ~bad
    fb.rows(dup, "error", "duplicate_benchmark",
            "this benchmark (or criterion) already has a row for this evaluation date earlier in "
            "the file; only the first was loaded", "remove the repeated row", "benchmark", "benchmark_raw")
    bad = bad | dup
    # every evaluation should report all eight benchmarks
    ok = big.filter(~bad & big["criterion"].is_null() & big["evaluation_date"].is_not_null())
    missing = (ok.group_by("_file", "evaluation_date", maintain_order=True)
               .agg(pl.col("benchmark").unique(), pl.col("_row").min().alias("first")))
    for f, ev, have, first in missing.iter_rows():
        gap = sorted(set(range(1, 9)) - set(have))
        if gap:
            res = results[f]
            fb.problems[f].append(Problem(
                "warning", "benchmarks_missing", f"the evaluation of {ev.isoformat()} has no row for benchmark(s) "
                f"{', '.join(map(str, gap))}; the academy's count of benchmarks achieved for this date is based on "
                "the others", "add a row for every benchmark 1-8", file=res.file, row=int(first),
                column=res.headers.get("benchmark", "benchmark")))
    return bad
