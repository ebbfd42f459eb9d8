"""Validate Future Skills Questionnaire exports (long or wide, CSV or XLSX) into raw rows.

Contract §6. A file is rejected as a whole when it cannot be read, lacks a required column,
has no answer rows, sits in a folder that is not an academy of the trust or an academic year,
or has more than the configured share of invalid rows. Otherwise bad answers are excluded and
reported, and the rest is loaded. Unmapped items are reported and stored without a construct.
"""
from __future__ import annotations

import hashlib
from datetime import date
from typing import Callable, Iterable

import polars as pl

import pipelines.config as cfg
from pipelines.lib.careers.fsq_config import FsqConfig, load_fsq_config
from pipelines.lib.careers.reading import map_unique as _mapu, parse_date, parse_int, read_grid, term_of
from pipelines.lib.careers.results import BatchFeedback, FileResult, file_problem, file_slices, file_verdict
from pipelines.lib.intake.guard import Limits
from pipelines.lib.intake.read import read_ahead
from pipelines.lib.problems import Problem
from pipelines.lib.returns.spec import norm_header
from pipelines.lib.upn import check_letter_problems, is_temporary_expr


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
    """Long frame of raw text (one row per pupil x item; `_q` = the question column's header in a
    wide export, null in a long one); layout; problems. Values are parsed later, for all files at once."""
    problems: list[Problem] = []
    header = grid.header

    def col(f):
        return grid.column(cols[f])

    base = {"_row": grid.body["_row"], "upn_raw": col("upn"), "year_group_raw": col("year_group"),
            "survey_date_raw": col("survey_date")}
    if "item_id" in cols and "response" in cols:
        layout = "long"
        frame = pl.DataFrame({**base, "item_raw": col("item_id"), "response_raw": col("response"),
                              "_q": pl.repeat(None, grid.height, dtype=pl.Utf8, eager=True)},
                             schema_overrides={k: pl.Utf8 for k in RAW_TEXT})
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
        # one row per pupil x question column, question by question (unpivot stacks column after column)
        b = pl.DataFrame({**base, **{f"q{j}": grid.column(j).cast(pl.Utf8) for j, _ in item_cols}},
                         schema_overrides={k: pl.Utf8 for k in ("upn_raw", "year_group_raw", "survey_date_raw")})
        frame = b.unpivot([f"q{j}" for j, _ in item_cols], index=["_row", "upn_raw", "year_group_raw",
                                                                   "survey_date_raw"],
                          variable_name="_var", value_name="response_raw").with_columns(
            item_raw=pl.col("_var").replace_strict({f"q{j}": item for j, item in item_cols}, return_dtype=pl.Utf8),
            _q=pl.col("_var").replace_strict({f"q{j}": header[j] for j, _ in item_cols}, return_dtype=pl.Utf8))
    return frame.select(["_row", *RAW_TEXT, "_q"]), layout, problems


RAW_TEXT = ("upn_raw", "year_group_raw", "survey_date_raw", "item_raw", "response_raw")
CHUNK_ROWS = 1_000_000   # answers checked in one frame (files are never split; bounds memory at any scale)


def _parse(frame: pl.DataFrame, conf: FsqConfig) -> pl.DataFrame:
    """Parsed values of every file's answers at once (each distinct raw value parsed once)."""
    labels = {v: conf.canonical_response(v) for v in frame["response_raw"].unique().to_list()}
    return frame.with_columns(
        upn=_per_distinct(frame["upn_raw"], _upper_trimmed),
        year_group=_mapu(pl.col("year_group_raw"), parse_int, pl.Int32),
        survey_date=_mapu(pl.col("survey_date_raw"), parse_date, pl.Date),
        item_id=_per_distinct(frame["item_raw"], _upper_trimmed),
        # label; None = not answered; the raw text when off the scale (the suite flags it)
        response=pl.col("response_raw").replace_strict(
            {k: (v if v is not None else k) if v != "" else None for k, v in labels.items() if k is not None},
            default=None, return_dtype=pl.Utf8),
    )


def _upper_trimmed(col: pl.Expr) -> pl.Expr:
    return col.str.strip_chars().str.to_uppercase()


def _per_distinct(s: pl.Series, fn: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    """`fn` over `s`, computed once per distinct value (a column of millions of answers holds a few
    thousand UPNs); `s` itself when `fn` changes none of them (the usual export)."""
    distinct = s.unique()
    mapped = distinct.to_frame().select(fn(pl.col(s.name))).to_series()
    changed = distinct.ne_missing(mapped)
    if not changed.any():
        return s
    return s.replace(distinct.filter(changed), mapped.filter(changed))


def _gx_frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select("upn", "year_group", pl.col("survey_date").cast(pl.Utf8).alias("survey_date"),
                        "item_id", "response")


def _suite_failures(frame: pl.DataFrame, conf: FsqConfig):
    """expectations/fsq_responses.json over the answers of all the files: [Failure] with a failing-row
    mask over `frame` (polars; GX only if the suite gains a type the polars evaluator lacks)."""
    from pipelines.lib.careers.gx_check import suite_failures

    params = {"known_items": sorted(conf.items), "scale_labels": conf.labels}
    # polars reads the date as a date (its checks cast to text where they need it); GX gets the text
    return suite_failures("fsq_responses", frame.select("upn", "year_group", "survey_date", "item_id", "response"),
                          params, gx_frame=lambda: _gx_frame(frame))


def validate_fsq(data: bytes, name: str, academy_urn: str, academic_year: str,
                 known_urns: set[str] | None = None, conf: FsqConfig | None = None,
                 today: date | None = None) -> FileResult:
    """Validate one FSQ export found at raw/fsq/<academy_urn>/<academic_year>/<name>."""
    return validate_fsq_batch([(data, name, academy_urn, academic_year)], known_urns, conf, today)[0]


def validate_fsq_batch(files: Iterable[tuple[bytes, str, str, str]], known_urns: set[str] | None = None,
                       conf: FsqConfig | None = None, today: date | None = None,
                       chunk_rows: int | None = None, on_checked: Callable[[list[FileResult]], None] | None = None,
                       limits: Limits | None = None) -> list[FileResult]:
    """Validate many exports [(data, name, urn, academic_year)] (any iterable: read as it goes; a
    fifth element, when given, is the SHA-256 of the data, so it is not hashed again).

    Each file is read on its own (header, layout); then the answers of all the files are parsed and
    checked together, in one frame per `chunk_rows` answers: every rule is one vectorised pass, and
    each file's feedback comes from its own rows (`_file`), exactly as if it were checked alone.
    `on_checked(results)` is called with each checked chunk's results (e.g. to load their rows)."""
    conf = conf or load_fsq_config()
    today = today or date.today()
    limits = limits or Limits.from_config()
    out: list[FileResult] = []
    chunk: list[tuple[FileResult, pl.DataFrame]] = []
    size = 0
    limit = chunk_rows or CHUNK_ROWS

    def check(chunk):
        _check_files(chunk, conf, today)
        if on_checked:
            on_checked([res for res, _ in chunk])

    def prepare(d, n, u, y, sha=None):
        return _prepare(d, n, u, y, known_urns, conf, limits, sha)

    for res, frame in read_ahead(files, prepare):
        out.append(res)
        if frame is None:
            continue
        if chunk and size + frame.height > limit:
            check(chunk)
            chunk, size = [], 0
        chunk.append((res, frame))
        size += frame.height
    if chunk:
        check(chunk)
    return out


def _prepare(data: bytes, name: str, academy_urn: str, academic_year: str, known_urns: set[str] | None,
             conf: FsqConfig, limits: Limits, sha: str | None = None) -> tuple[FileResult, pl.DataFrame | None]:
    """File-level checks, reading and normalising; (result, long frame or None when rejected).
    `sha`: the SHA-256 of `data` when the caller already has it (else computed here)."""
    res = FileResult("fsq", name, academy_urn, academic_year, sha or hashlib.sha256(data).hexdigest())
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
                           is_extra_key=item_keys.__contains__, what="FSQ export", limits=limits)
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
    if frame is not None:
        res.headers = {f: grid.header[j] for f, j in cols.items()}
    return res, frame


def _check_files(chunk: list[tuple[FileResult, pl.DataFrame]], conf: FsqConfig, today: date) -> None:
    """Row checks, the invalid-share rule and the rows to land, for the prepared files of one chunk."""
    results = [res for res, _ in chunk]
    heights = [frame.height for _, frame in chunk]
    big = pl.concat([frame for _, frame in chunk], how="vertical")
    big = _parse(big.with_columns(
        _file=pl.Series(range(len(chunk)), dtype=pl.Int32).repeat_by(pl.Series(heights)).explode()), conf)
    fb = BatchFeedback(results, big, q_fields=("item_id", "response"))
    bad = _row_checks(big, fb, conf, results, today)
    stats = (big.select("_file", "_row", bad.alias("_bad")).group_by("_file")
             .agg(pl.col("_row").filter(pl.col("_bad")).n_unique().alias("rows_bad"),
                  (~pl.col("_bad")).sum().alias("good"),
                  pl.col("_row").filter(~pl.col("_bad")).n_unique().alias("rows_loaded")))
    stats = {f: (rb, g, rl) for f, rb, g, rl in stats.iter_rows()}
    limit = max_invalid_share()
    for f, res in enumerate(results):
        res.problems += fb.problems[f]
        rows_bad, good, rows_loaded = stats.get(f, (0, 0, 0))
        file_verdict(res, rows_bad, good, limit)
        if not res.rejected:
            res.rows_loaded = rows_loaded
    keep = [f for f, res in enumerate(results) if not res.rejected]
    if not keep:
        return
    good = big.filter(~bad & pl.col("_file").is_in(keep))
    for f, rows in zip(keep, file_slices(_to_raw(good, conf), keep)):
        res = results[f]
        # the file's own columns, added to its slice (cheaper than joining them to every row)
        results[f].rows = rows.with_columns(
            academy_urn=pl.lit(res.academy_urn, pl.Utf8), academic_year=pl.lit(res.academic_year, pl.Utf8),
            source_file=pl.lit(res.file, pl.Utf8), file_sha256=pl.lit(res.sha256, pl.Utf8)).select(list(RAW_SCHEMA))


def _row_checks(big: pl.DataFrame, fb: BatchFeedback, conf: FsqConfig, results: list[FileResult],
                today: date) -> pl.Series:
    """The suite + plain checks over every file's answers; problems go to `fb`. Returns the mask of
    excluded answer rows."""
    bad = pl.repeat(False, big.height, eager=True)
    field_of = {"upn": "upn", "year_group": "year_group", "survey_date": "survey_date", "item_id": "item_id",
                "response": "response"}
    raw_of = {"upn": "upn_raw", "year_group": "year_group_raw", "survey_date": "survey_date_raw",
              "item_id": "item_raw", "response": "response_raw"}
    for fail in _suite_failures(big, conf):
        meta, c = fail.meta, fail.meta.get("column", "")
        mask = fail.mask(big) if fail.row_level else None
        if mask is None:
            if fail.exc or meta.get("severity") == "file":   # could not run: every file says so
                fb.suite_not_run(fail, c)
            continue
        if meta.get("rule") == "item_unknown":
            fb.unknown_items(mask, meta)
            continue
        fb.rows(mask, meta.get("severity", "error"), meta["rule"], meta["message"], meta["fix"],
                field_of.get(c, "upn"), raw_of.get(c, "upn_raw"))
        if meta.get("severity", "error") == "error":
            bad = bad | mask
    per_file = pl.col("_file")
    # UPN check letter (format already checked by the suite); each distinct UPN checked once
    upns = big["upn"].unique().drop_nulls()
    ok_upns = upns.filter(upns.str.contains(r"^[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]$"))
    fmt_ok = big["upn"].is_in(ok_upns.implode()).fill_null(False)
    reasons = {u: r for u, r in zip(ok_upns.to_list(), check_letter_problems(ok_upns).to_list()) if r}
    if reasons:
        why = big["upn"].replace_strict(reasons, default=None, return_dtype=pl.Utf8)
        for reason in sorted(set(reasons.values())):
            m = fmt_ok & (why == reason).fill_null(False)
            fb.rows(m, "error", "upn_check_letter", f"the UPN is not valid: {reason}",
                    "copy the UPN again from the MIS; a mistyped digit changes the check letter", "upn", "upn_raw")
            bad = bad | m
    first_upn = big.select(pl.col("upn").is_first_distinct().over(per_file)).to_series()
    temporary = ok_upns.filter(ok_upns.str.contains(r"[A-HJ-NP-RT-Z]$"))
    temp = big["upn"].is_in(temporary.implode()).fill_null(False) & first_upn
    fb.rows(temp, "warning", "upn_temporary",
            "this is a temporary UPN; the answers are loaded but cannot be linked to destinations "
            "until the permanent UPN is used",
            "replace it with the pupil's permanent UPN in the next export", "upn", "upn_raw")
    # survey date inside the folder's academic year and not in the future
    years = {f: _year_bounds(res.academic_year) for f, res in enumerate(results)}
    lo = big["_file"].replace_strict({f: b[0] for f, b in years.items()}, return_dtype=pl.Date)
    hi = big["_file"].replace_strict({f: b[1] for f, b in years.items()}, return_dtype=pl.Date)
    sd = big["survey_date"]
    outside = (sd.is_not_null() & ((sd < lo) | (sd > hi))).fill_null(False)
    fb.rows(outside, "error", "survey_date_outside_year",
            lambda res: f"the survey date is not in the academic year {res.academic_year} of the folder",
            "check the date, or put the file in the folder of the year the survey was taken",
            "survey_date", "survey_date_raw")
    future = (sd.is_not_null() & (sd > today)).fill_null(False)
    fb.rows(future & ~outside, "error", "survey_date_future", "the survey date is in the future", "check the date",
            "survey_date", "survey_date_raw")
    bad = bad | outside | future
    # the same pupil answering the same question twice on the same date: keep the first
    key = pl.concat_str([pl.col("upn").fill_null(""), pl.col("survey_date").cast(pl.Utf8).fill_null(""),
                         pl.col("item_id").fill_null("")], separator="|")
    repeat = big.select(~key.is_first_distinct().over(per_file)).to_series()
    dup = repeat & ~bad
    fb.rows(dup, "error", "duplicate_answer",
            "this pupil already has an answer to this question on this date earlier in the file; "
            "only the first one was loaded", "remove the repeated row", "item_id", "item_raw")
    bad = bad | dup
    # one year group per pupil per file
    multi = (big.filter(pl.col("year_group").is_not_null() & pl.col("upn").is_not_null())
             .group_by("_file", "upn").agg(lo=pl.col("year_group").min(), hi=pl.col("year_group").max())
             .filter(pl.col("lo") != pl.col("hi")).select("_file", "upn", pl.lit(True).alias("_multi")))
    if multi.height:
        flagged = big.select("_file", "upn").join(multi, on=["_file", "upn"], how="left",
                                                  maintain_order="left")["_multi"].fill_null(False)
        first_row = big.select(pl.col("_row").is_first_distinct().over(per_file)).to_series()
        fb.rows(flagged & first_row, "warning", "year_group_conflict",
                "this pupil appears with more than one year group in the file",
                "check the pupil's year group in the MIS", "year_group", "year_group_raw")
    return bad


def _to_raw(good: pl.DataFrame, conf: FsqConfig) -> pl.DataFrame:
    """The rows to land (raw.fsq_responses values that vary by row) of every file, with `_file`."""
    construct = {i: s["construct"] for i, s in conf.items.items()}
    score = {label: code for code, label in conf.scale.items()}
    out = good.select(
        "_file", "survey_date", _mapu(pl.col("survey_date"), term_of, pl.Utf8).alias("survey_round"),
        "upn", is_temporary_expr(pl.col("upn")).alias("upn_is_temporary"),
        pl.col("year_group").cast(pl.Int32), "item_id",
        pl.col("item_id").replace_strict(construct, default=None, return_dtype=pl.Utf8).alias("construct"),
        "response",
        pl.col("response").replace_strict(score, default=None, return_dtype=pl.Int32).alias("response_score"),
        pl.when(pl.col("response").is_null()).then(None)
        .otherwise(pl.col("response").is_in(sorted(conf.positive))).alias("is_positive"),
        pl.col("_row").cast(pl.Int32).alias("source_row"))
    return out.cast({c: t for c, t in RAW_SCHEMA.items() if c in out.columns})
