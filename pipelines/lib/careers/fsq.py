"""Validate Future Skills Questionnaire exports (long or wide, CSV or XLSX) into raw rows.

Contract §6. A file is rejected as a whole when it cannot be read, lacks a required column,
has no answer rows, sits in a folder that is not an academy of the trust or an academic year,
or has more than the configured share of invalid rows. Otherwise bad answers are excluded and
reported, and the rest is loaded. Unmapped items are reported and stored without a construct.
"""
from __future__ import annotations

import hashlib
from datetime import date
from functools import lru_cache

import polars as pl

import pipelines.config as cfg
from pipelines.lib.careers.fsq_config import FsqConfig, load_fsq_config
from pipelines.lib.careers.reading import map_unique as _mapu, parse_date, parse_int, read_grid, term_of
from pipelines.lib.careers.results import FileResult, file_problem, row_problems, sort_problems
from pipelines.lib.problems import Problem
from pipelines.lib.returns.spec import norm_header
from pipelines.lib.upn import is_temporary as _is_temporary, upn_problem as _upn_problem

# the same pupils appear in many files of a run: check each UPN once per process
upn_problem = lru_cache(maxsize=500_000)(_upn_problem)
is_temporary = lru_cache(maxsize=500_000)(_is_temporary)

FIELDS = ["upn", "year_group", "survey_date", "item_id", "response"]
ALIASES = {norm_header(a): f for f, names in {
    "upn": ["upn", "unique pupil number", "pupil upn", "student upn", "learner upn"],
    "year_group": ["year_group", "year", "nc year", "nc year actual", "yr", "year grp", "national curriculum year"],
    "survey_date": ["survey_date", "date", "date completed", "completed date", "completed on", "response date",
                    "survey completed"],
    "item_id": ["item_id", "item", "question id", "question", "item code", "question code"],
    "response": ["response", "answer", "response value", "value", "score"],
}.items() for a in names}

RAW_SCHEMA = {
    "academy_urn": pl.Utf8, "academic_year": pl.Utf8, "survey_date": pl.Date, "survey_round": pl.Utf8,
    "upn": pl.Utf8, "upn_is_temporary": pl.Boolean, "year_group": pl.Int32, "item_id": pl.Utf8,
    "construct": pl.Utf8, "response": pl.Utf8, "response_score": pl.Int32, "is_positive": pl.Boolean,
    "source_file": pl.Utf8, "file_sha256": pl.Utf8, "source_row": pl.Int32,
}


def max_invalid_share() -> float:
    try:
        return float(cfg.trust_config().get("validation", {}).get("max_invalid_row_share", 0.25))
    except Exception:  # noqa: BLE001
        return 0.25


def _year_bounds(academic_year: str) -> tuple[date, date]:
    start = int(academic_year[:4])
    return date(start, 8, 1), date(start + 1, 8, 31)


def _normalise(grid, cols: dict[str, int], conf: FsqConfig, name: str) -> tuple[pl.DataFrame | None, str, list]:
    """Long frame (one row per pupil x item) with raw and parsed values; layout; problems."""
    problems: list[Problem] = []
    header = grid.header
    hdr = {f: header[j] for f, j in cols.items()}

    def col(f):
        return grid.column(cols[f])

    base = {"_row": grid.body["_row"], "upn_raw": col("upn"), "year_group_raw": col("year_group"),
            "survey_date_raw": col("survey_date")}
    if "item_id" in cols and "response" in cols:
        layout = "long"
        frame = pl.DataFrame({**base, "item_raw": col("item_id"), "response_raw": col("response")},
                             schema_overrides={k: pl.Utf8 for k in ("upn_raw", "year_group_raw", "survey_date_raw",
                                                                    "item_raw", "response_raw")})
        frame = frame.with_columns(_resp_col=pl.lit(hdr["response"]), _item_col=pl.lit(hdr["item_id"]))
    else:
        layout = "wide"
        item_keys = {norm_header(i): i for i in conf.items}
        item_cols: list[tuple[int, str]] = []
        for j, h in enumerate(header):
            if not h or j in cols.values():
                continue
            key = norm_header(h)
            if key in item_keys:
                item_cols.append((j, item_keys[key]))
                continue
            vals = grid.column(j).drop_nulls()
            on_scale = sum(n for v, n in vals.value_counts().iter_rows()
                           if conf.canonical_response(v) not in (None, ""))
            if len(vals) and on_scale >= 0.8 * len(vals):
                item_cols.append((j, h.strip()))  # looks like a question not in the mapping
            else:
                problems.append(Problem(
                    "warning", "column_ignored", "this column is not a question in the trust's FSQ mapping and "
                    "its values are not answers on the agreement scale, so it was ignored",
                    "nothing to do if it is extra information; if it is a question, ask the trust data team "
                    "to add it to config/fsq_constructs.yaml", file=name, row=grid.header_row, column=h))
        if not item_cols:
            return None, layout, problems + [file_problem(
                name, "no_items", "no question columns were found: a wide export needs one column per question "
                "(e.g. CK01), a long export needs 'item_id' and 'response' columns",
                "export the FSQ results again with the question columns, or use the long layout "
                "(upn, year_group, survey_date, item_id, response)", row=grid.header_row)]
        parts = []
        b = pl.DataFrame(base, schema_overrides={k: pl.Utf8 for k in ("upn_raw", "year_group_raw",
                                                                        "survey_date_raw")})
        for j, item in item_cols:
            parts.append(b.with_columns(item_raw=pl.lit(item),
                                        response_raw=grid.column(j),
                                        _resp_col=pl.lit(header[j]), _item_col=pl.lit(header[j])))
        frame = pl.concat(parts)
    frame = frame.with_columns(_upn_col=pl.lit(hdr["upn"]), _yg_col=pl.lit(hdr["year_group"]),
                               _date_col=pl.lit(hdr["survey_date"]))
    # parsed values
    labels = {v: conf.canonical_response(v) for v in frame["response_raw"].unique().to_list()}
    frame = frame.with_columns(
        upn=pl.col("upn_raw").str.strip_chars().str.to_uppercase(),
        year_group=_mapu(pl.col("year_group_raw"), parse_int, pl.Int32),
        survey_date=_mapu(pl.col("survey_date_raw"), parse_date, pl.Date),
        item_id=pl.col("item_raw").str.strip_chars().str.to_uppercase(),
        # label; None = not answered; the raw text when off the scale (GX flags it)
        response=pl.col("response_raw").replace_strict(
            {k: (v if v is not None else k) if v != "" else None for k, v in labels.items() if k is not None},
            default=None, return_dtype=pl.Utf8),
    )
    return frame, layout, problems


def _gx_frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select("upn", "year_group", pl.col("survey_date").cast(pl.Utf8).alias("survey_date"),
                        "item_id", "response")


def _gx_failures(frames: list[pl.DataFrame], conf: FsqConfig):
    """One GX run over the rows of all the files (see gx_check.validate_frame)."""
    from pipelines.lib.careers.gx_check import validate_frame

    return validate_frame("fsq_responses", pl.concat([_gx_frame(f) for f in frames]),
                          {"known_items": sorted(conf.items), "scale_labels": conf.labels})


def _file_failures(fails, frame: pl.DataFrame, offset: int) -> list[tuple[dict, pl.Series | None, str | None]]:
    """[(meta, failing-row mask or None when the expectation failed as a whole, exception)] for one file."""
    g = _gx_frame(frame)
    out = []
    for f in fails:
        mask = f.mask(g, offset) if f.row_level else None
        if mask is None and not (f.exc or f.meta.get("severity") == "file"):
            mask = pl.repeat(False, frame.height, eager=True)
        out.append((f.meta, mask, f.exc))
    return out


def validate_fsq(data: bytes, name: str, academy_urn: str, academic_year: str,
                 known_urns: set[str] | None = None, conf: FsqConfig | None = None,
                 today: date | None = None) -> FileResult:
    """Validate one FSQ export found at raw/fsq/<academy_urn>/<academic_year>/<name>."""
    return validate_fsq_batch([(data, name, academy_urn, academic_year)], known_urns, conf, today)[0]


def validate_fsq_batch(files: list[tuple[bytes, str, str, str]], known_urns: set[str] | None = None,
                       conf: FsqConfig | None = None, today: date | None = None,
                       chunk_rows: int | None = None) -> list[FileResult]:
    """Validate many exports [(data, name, urn, academic_year)]; the GX suite runs once for all of
    them (`chunk_rows` is ignored: GX sees each column's distinct values, see gx_check)."""
    conf = conf or load_fsq_config()
    today = today or date.today()
    prepared = [_prepare(d, n, u, y, known_urns, conf) for d, n, u, y in files]
    frames = [f for _, f in prepared if f is not None]
    fails = _gx_failures(frames, conf) if frames else []
    out: list[FileResult] = []
    offset = 0
    for res, frame in prepared:
        if frame is None:
            out.append(res)
            continue
        out.append(_finish(res, frame, conf, _file_failures(fails, frame, offset), today))
        offset += frame.height
    return out


def _prepare(data: bytes, name: str, academy_urn: str, academic_year: str, known_urns: set[str] | None,
             conf: FsqConfig) -> tuple[FileResult, pl.DataFrame | None]:
    """File-level checks, reading and normalising; (result, long frame or None when rejected)."""
    res = FileResult("fsq", name, academy_urn, academic_year, hashlib.sha256(data).hexdigest())
    if known_urns is not None and academy_urn not in known_urns:
        res.problems.append(file_problem(
            name, "unknown_academy", f"the folder '{academy_urn}' is not the URN of an academy in the trust register",
            "put the file in the folder named after the academy's 6-digit URN (raw/fsq/<URN>/<YYYY-YY>/)"))
    if not cfg.is_leaving_year(academic_year or ""):
        res.problems.append(file_problem(
            name, "bad_year_folder", f"the folder '{academic_year}' is not an academic year like 2025-26",
            "put the file in the folder of the academic year the survey was taken (raw/fsq/<URN>/<YYYY-YY>/)"))
    if res.rejected:
        return res, None
    item_keys = frozenset(norm_header(i) for i in conf.items)
    grid, cols = read_grid(data, name, ALIASES, ["upn", "year_group", "survey_date"],
                           is_extra_key=item_keys.__contains__, what="FSQ export")
    res.problems += grid.problems
    res.rows_total = grid.height
    if grid.rejected:
        return res, None
    if ("item_id" in cols) != ("response" in cols):
        missing = "response" if "item_id" in cols else "item_id"
        res.problems.append(file_problem(
            name, "missing_column", f"the file has a '{'item_id' if missing == 'response' else 'response'}' "
            f"column but no '{missing}' column, so it is neither a long nor a wide export",
            f"add the '{missing}' column (long layout: upn, year_group, survey_date, item_id, response)",
            row=grid.header_row, column=missing))
        return res, None
    frame, res.layout, probs = _normalise(grid, cols, conf, name)
    res.problems += probs
    return res, frame


def _finish(res: FileResult, frame: pl.DataFrame, conf: FsqConfig, gx_failures, today: date) -> FileResult:
    """Row checks on a prepared file, the invalid-share rule, and the rows to land."""
    name, academic_year, academy_urn = res.file, res.academic_year, res.academy_urn
    problems, bad = _row_checks(frame, conf, name, academic_year, today, gx_failures)
    res.problems += problems
    rows_bad = frame.filter(bad)["_row"].n_unique()
    share = rows_bad / max(1, res.rows_total)
    limit = max_invalid_share()
    if share > limit:
        res.problems.append(file_problem(
            name, "too_many_invalid", f"{rows_bad} of {res.rows_total} rows ({share:.0%}) have errors, more than "
            f"the {limit:.0%} the trust accepts, so the whole file was rejected",
            "fix the errors listed below and send the file again"))
    good = frame.filter(~bad)
    if not res.rejected and good.height == 0:
        res.problems.append(file_problem(name, "no_valid_rows", "no row of the file could be loaded",
                                         "fix the errors listed below and send the file again"))
    res.problems = sort_problems(res.problems)
    if res.rejected:
        return res
    res.rows = _to_raw(good, conf, academy_urn, academic_year, name, res.sha256)
    res.rows_loaded = good["_row"].n_unique()
    return res


def _row_checks(frame: pl.DataFrame, conf: FsqConfig, name: str, academic_year: str,
                today: date, gx_failures) -> tuple[list[Problem], pl.Series]:
    """GX suite + plain checks. Returns problems and the mask of excluded answer rows."""
    problems: list[Problem] = []
    bad = pl.repeat(False, frame.height, eager=True)
    col_of = {"upn": "_upn_col", "year_group": "_yg_col", "survey_date": "_date_col",
              "item_id": "_item_col", "response": "_resp_col"}
    raw_of = {"upn": "upn_raw", "year_group": "year_group_raw", "survey_date": "survey_date_raw",
              "item_id": "item_raw", "response": "response_raw"}
    for meta, mask, exc in gx_failures:
        c = meta.get("column", "")
        if mask is None:  # could not run: report at file level
            problems.append(file_problem(name, meta.get("rule", "gx"), meta.get("message", exc or "check failed"),
                                         meta.get("fix", ""), column=c))
            continue
        if meta.get("rule") == "item_unknown":
            problems += _unknown_items(frame.filter(mask), name, meta)
            continue
        problems += row_problems(name, frame, mask, meta.get("severity", "error"), meta["rule"], meta["message"],
                                 meta["fix"], col_of.get(c, "_upn_col"), raw_of.get(c, "upn_raw"))
        if meta.get("severity", "error") == "error":
            bad = bad | mask
    # UPN check letter (format already checked by GX)
    fmt_ok = frame["upn"].str.contains(r"^[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]$").fill_null(False)
    reasons = {u: upn_problem(u) for u in frame.filter(fmt_ok)["upn"].unique().to_list()}
    for reason in sorted({r for r in reasons.values() if r}):
        m = fmt_ok & frame["upn"].is_in([u for u, r in reasons.items() if r == reason])
        problems += row_problems(name, frame, m, "error", "upn_check_letter", f"the UPN is not valid: {reason}",
                                 "copy the UPN again from the MIS; a mistyped digit changes the check letter",
                                 "_upn_col", "upn_raw")
        bad = bad | m
    temp = fmt_ok & frame["upn"].str.contains(r"[A-HJ-NP-RT-Z]$").fill_null(False) & frame["upn"].is_first_distinct()
    problems += row_problems(name, frame, temp, "warning", "upn_temporary",
                             "this is a temporary UPN; the answers are loaded but cannot be linked to destinations "
                             "until the permanent UPN is used",
                             "replace it with the pupil's permanent UPN in the next export", "_upn_col", "upn_raw")
    # survey date inside the folder's academic year and not in the future
    lo, hi = _year_bounds(academic_year)
    outside = frame["survey_date"].is_not_null() & ((frame["survey_date"] < lo) | (frame["survey_date"] > hi))
    problems += row_problems(name, frame, outside, "error", "survey_date_outside_year",
                             f"the survey date is not in the academic year {academic_year} of the folder",
                             f"check the date, or put the file in the folder of the year the survey was taken",
                             "_date_col", "survey_date_raw")
    future = frame["survey_date"].is_not_null() & (frame["survey_date"] > today)
    problems += row_problems(name, frame, future & ~outside, "error", "survey_date_future",
                             "the survey date is in the future", "check the date", "_date_col", "survey_date_raw")
    bad = bad | outside | future
    # the same pupil answering the same question twice on the same date: keep the first
    key = pl.concat_str([frame["upn"].fill_null(""), frame["survey_date"].cast(pl.Utf8).fill_null(""),
                         frame["item_id"].fill_null("")], separator="|")
    dup = key.is_duplicated() & ~key.is_first_distinct() & ~bad
    problems += row_problems(name, frame, dup, "error", "duplicate_answer",
                             "this pupil already has an answer to this question on this date earlier in the file; "
                             "only the first one was loaded", "remove the repeated row", "_item_col", "item_raw")
    bad = bad | dup
    # one year group per pupil per file
    per_pupil = frame.filter(frame["year_group"].is_not_null()).group_by("upn").agg(pl.col("year_group").n_unique())
    multi = per_pupil.filter(pl.col("year_group") > 1)["upn"].to_list()
    if multi:
        m = frame["upn"].is_in(multi) & frame["_row"].is_first_distinct()
        problems += row_problems(name, frame, m, "warning", "year_group_conflict",
                                 "this pupil appears with more than one year group in the file",
                                 "check the pupil's year group in the MIS", "_yg_col", "year_group_raw")
    return problems, bad


def _unknown_items(hits: pl.DataFrame, name: str, meta: dict) -> list[Problem]:
    """One warning per unmapped question, with how many answers it has and where it first appears."""
    out = []
    for item, g in hits.group_by("item_raw", maintain_order=True):
        item = item[0]
        first = int(g["_row"].min())
        out.append(Problem("warning", "item_unknown", f"{meta['message']} ({g.height} answers, first at row {first})",
                           meta["fix"], file=name, row=first, column=g["_item_col"][0], value=str(item)[:60]))
    return out


def _to_raw(good: pl.DataFrame, conf: FsqConfig, urn: str, year: str, name: str, sha: str) -> pl.DataFrame:
    construct = {i: s["construct"] for i, s in conf.items.items()}
    score = {label: code for code, label in conf.scale.items()}
    out = good.select(
        pl.lit(urn).alias("academy_urn"), pl.lit(year).alias("academic_year"), "survey_date",
        _mapu(pl.col("survey_date"), term_of, pl.Utf8).alias("survey_round"),
        "upn", _mapu(pl.col("upn"), is_temporary, pl.Boolean).alias("upn_is_temporary"),
        pl.col("year_group").cast(pl.Int32), "item_id",
        pl.col("item_id").replace_strict(construct, default=None, return_dtype=pl.Utf8).alias("construct"),
        "response",
        pl.col("response").replace_strict(score, default=None, return_dtype=pl.Int32).alias("response_score"),
        pl.when(pl.col("response").is_null()).then(None)
        .otherwise(pl.col("response").is_in(sorted(conf.positive))).alias("is_positive"),
        pl.lit(name).alias("source_file"), pl.lit(sha).alias("file_sha256"),
        pl.col("_row").cast(pl.Int32).alias("source_row"))
    return out.cast(RAW_SCHEMA)
