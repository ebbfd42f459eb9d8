"""Validate Compass evaluation exports into raw rows (contract §6).

Columns: urn, evaluation_date, framework_version (2018 | 2025), benchmark (1-8),
percent_achieved (0-100), and optionally criterion + criterion_status for criterion-level rows.
The 2025 framework applies from 1 September 2025 (research/domain.md §6.2); a 2025 evaluation
dated earlier is an error, a 2018 one dated later a warning (kept as 2018, never compared).
"""
from __future__ import annotations

import hashlib
import re
from datetime import date

import polars as pl

from pipelines.lib.careers.fsq import max_invalid_share
from pipelines.lib.careers.reading import academic_year_of, map_unique as _mapu, parse_date, parse_int, read_grid, term_of
from pipelines.lib.careers.results import FileResult, file_problem, row_problems, sort_problems
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


def validate_compass_batch(files: list[tuple[bytes, str, str]], known_urns: set[str] | None = None,
                           today: date | None = None) -> list[FileResult]:
    """Validate many exports [(data, name, urn)] with one GX run over all their rows."""
    from pipelines.lib.careers.gx_check import validate_frame

    today = today or date.today()
    prepared = [_prepare(d, n, u, known_urns) for d, n, u in files]
    frames = [f for _, f in prepared if f is not None]
    fails = validate_frame("compass_evaluations", pl.concat([_gx_frame(f) for f in frames])) if frames else []
    out, offset = [], 0
    for res, frame in prepared:
        if frame is None:
            out.append(res)
            continue
        g = _gx_frame(frame)
        mine = [(f.meta, f.mask(g, offset) if f.row_level else None, f.exc) for f in fails]
        offset += frame.height
        out.append(_finish(res, frame, mine, today))
    return out


def _gx_frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select("urn", pl.col("evaluation_date").cast(pl.Utf8), "framework_version", "benchmark",
                        "percent_achieved", pl.col("criterion_status").str.to_lowercase())


def _prepare(data: bytes, name: str, academy_urn: str,
             known_urns: set[str] | None) -> tuple[FileResult, pl.DataFrame | None]:
    res = FileResult("compass", name, academy_urn, None, hashlib.sha256(data).hexdigest(), layout="compass")
    if known_urns is not None and academy_urn not in known_urns:
        res.problems.append(file_problem(
            name, "unknown_academy", f"the folder '{academy_urn}' is not the URN of an academy in the trust register",
            "put the file in the folder named after the academy's 6-digit URN (raw/compass/<URN>/)"))
        return res, None
    grid, cols = read_grid(data, name, ALIASES, REQUIRED, what="Compass export")
    res.problems += grid.problems
    res.rows_total = grid.height
    if grid.rejected:
        return res, None
    hdr = {f: grid.header[j] for f, j in cols.items()}
    n = grid.body.height
    raw = {f: grid.column(cols[f]) if f in cols else pl.repeat(None, n, dtype=pl.Utf8, eager=True)
           for f in REQUIRED + OPTIONAL}
    frame = pl.DataFrame({"_row": grid.body["_row"], **{f"{f}_raw": pl.Series(v, dtype=pl.Utf8)
                                                        for f, v in raw.items()}})
    frame = frame.with_columns(
        urn=pl.col("urn_raw").str.strip_chars().str.replace(r"\.0$", ""),
        evaluation_date=_mapu(pl.col("evaluation_date_raw"), parse_date, pl.Date),
        framework_version=_mapu(pl.col("framework_version_raw"), _framework, pl.Utf8),
        benchmark=_mapu(pl.col("benchmark_raw"), parse_int, pl.Int32),
        percent_achieved=_mapu(pl.col("percent_achieved_raw"), _percent, pl.Float64),
        criterion=pl.col("criterion_raw").str.strip_chars(),
        criterion_status=pl.col("criterion_status_raw").str.strip_chars(),
        **{f"_{f}_col": pl.lit(hdr.get(f, f)) for f in REQUIRED + OPTIONAL})
    return res, frame


def _finish(res: FileResult, frame: pl.DataFrame, gx_failures, today: date) -> FileResult:
    name, academy_urn = res.file, res.academy_urn
    problems, bad = _row_checks(frame, name, academy_urn, today, gx_failures)
    res.problems += problems
    rows_bad = frame.filter(bad)["_row"].n_unique()
    share = rows_bad / max(1, res.rows_total)
    if share > max_invalid_share():
        res.problems.append(file_problem(
            name, "too_many_invalid", f"{rows_bad} of {res.rows_total} rows ({share:.0%}) have errors, more than "
            f"the {max_invalid_share():.0%} the trust accepts, so the whole file was rejected",
            "fix the errors listed below and send the file again"))
    good = frame.filter(~bad)
    if not res.rejected and good.filter(pl.col("criterion").is_null()).height == 0:
        res.problems.append(file_problem(name, "no_valid_rows", "no benchmark row of the file could be loaded",
                                         "fix the errors listed below and send the file again"))
    res.problems = sort_problems(res.problems)
    if res.rejected:
        return res
    res.rows = good.select(
        pl.lit(academy_urn).alias("academy_urn"), "evaluation_date",
        _mapu(pl.col("evaluation_date"), academic_year_of, pl.Utf8).alias("academic_year"),
        _mapu(pl.col("evaluation_date"), term_of, pl.Utf8).alias("term"),
        "framework_version", "benchmark", "criterion",
        pl.col("criterion_status").str.to_lowercase().replace(STATUS).alias("criterion_status"),
        "percent_achieved", pl.lit(name).alias("source_file"), pl.lit(res.sha256).alias("file_sha256"),
        pl.col("_row").alias("source_row")).cast(RAW_SCHEMA)
    res.rows_loaded = res.rows.height
    return res


def _row_checks(frame: pl.DataFrame, name: str, urn: str, today: date,
                gx_failures) -> tuple[list[Problem], pl.Series]:
    problems: list[Problem] = []
    bad = pl.repeat(False, frame.height, eager=True)
    for meta, mask, exc in gx_failures:
        c = meta.get("column", "urn")
        if mask is None or not mask.any():
            if not exc and meta.get("severity") != "file":
                continue  # failures only in other files of the batch
            problems.append(file_problem(name, meta.get("rule", "gx"), meta.get("message", exc or "check failed"),
                                         meta.get("fix", ""), column=c))
            continue
        problems += row_problems(name, frame, mask, meta.get("severity", "error"), meta["rule"], meta["message"],
                                 meta["fix"], f"_{c}_col", f"{c}_raw")
        if meta.get("severity", "error") == "error":
            bad = bad | mask
    # the file belongs to the academy of its folder
    other = frame["urn"].str.contains(r"^\d{6}$").fill_null(False) & (frame["urn"] != urn)
    if other.any():
        problems.append(file_problem(
            name, "urn_mismatch", f"the file is for academy {frame.filter(other)['urn'][0]} but is in the folder "
            f"of academy {urn}", "put the file in the folder named after the URN in the file, or correct the URN",
            row=int(frame.filter(other)["_row"][0]), column=frame["_urn_col"][0]))
    d = frame["evaluation_date"]
    early_2025 = (frame["framework_version"] == "2025") & (d < FRAMEWORK_2025_FROM)
    problems += row_problems(name, frame, early_2025.fill_null(False), "error", "framework_before_2025",
                             "the 2025 benchmarks apply from 1 September 2025; an evaluation dated earlier is "
                             "against the 2018 framework", "check the evaluation date and the framework version",
                             "_framework_version_col", "framework_version_raw")
    late_2018 = ((frame["framework_version"] == "2018") & (d >= FRAMEWORK_2025_FROM)).fill_null(False)
    problems += row_problems(name, frame, late_2018 & frame["_row"].is_first_distinct(), "warning",
                             "framework_2018_after_2025",
                             "this evaluation from September 2025 onwards uses the 2018 framework; it is loaded as "
                             "2018 and never compared with 2025 evaluations",
                             "complete the new Compass evaluation for the updated (2025) benchmarks next term",
                             "_framework_version_col", "framework_version_raw")
    future = (d > today).fill_null(False)
    problems += row_problems(name, frame, future, "error", "date_future", "the evaluation date is in the future",
                             "check the date", "_evaluation_date_col", "evaluation_date_raw")
    bad = bad | early_2025.fill_null(False) | future
    key = pl.concat_str([d.cast(pl.Utf8).fill_null(""), frame["benchmark"].cast(pl.Utf8).fill_null(""),
                         frame["criterion"].fill_null("")], separator="|")
    dup = key.is_duplicated() & ~key.is_first_distinct() & ~bad
    problems += row_problems(name, frame, dup, "error", "duplicate_benchmark",
                             "this benchmark (or criterion) already has a row for this evaluation date earlier in "
                             "the file; only the first was loaded", "remove the repeated row",
                             "_benchmark_col", "benchmark_raw")
    bad = bad | dup
    # every evaluation should report all eight benchmarks
    ok = frame.filter(~bad & frame["criterion"].is_null() & frame["evaluation_date"].is_not_null())
    for (ev,), g in ok.group_by("evaluation_date", maintain_order=True):
        missing = sorted(set(range(1, 9)) - set(g["benchmark"].to_list()))
        if missing:
            problems.append(Problem("warning", "benchmarks_missing",
                                    f"the evaluation of {ev.isoformat()} has no row for benchmark(s) "
                                    f"{', '.join(map(str, missing))}; the academy's count of benchmarks achieved "
                                    "for this date is based on the others", "add a row for every benchmark 1-8",
                                    file=name, row=int(g["_row"].min()), column=g["_benchmark_col"][0]))
    return problems, bad
