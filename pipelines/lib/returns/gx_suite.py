"""expectations/destination_returns.json on loaded return rows, through the one GX runner."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import polars as pl

import pipelines.config as cfg
from pipelines.lib.intake import gx as gx_runner

SUITE_NAME = "destination_returns"


def suite_path():
    return cfg.EXPECTATIONS_DIR / f"{SUITE_NAME}.json"


def load_payload() -> dict:
    return json.loads(suite_path().read_text(encoding="utf-8"))


@dataclass
class SuiteFailure:
    expectation: str
    column: str | None
    rule: str
    message: str
    unexpected_count: int
    examples: list = field(default_factory=list)
    exception: str | None = None


@dataclass
class SuiteResult:
    success: bool
    evaluated: int
    failures: list[SuiteFailure]

    def markdown(self) -> str:
        if not self.failures:
            return f"All {self.evaluated} expectations passed."
        lines = ["| expectation | column | rule | failing rows | examples |", "|---|---|---|---|---|"]
        for f in self.failures:
            ex = ", ".join(str(x) for x in f.examples[:5]) or (f.exception or "")
            lines.append(f"| {f.expectation} | {f.column or ''} | {f.rule} | {f.unexpected_count} | {ex} |")
        return "\n".join(lines)


def validate_frame(frame, payload: dict | None = None) -> SuiteResult:
    """Validate a pandas frame (the typed rows of raw.destination_returns) against the suite."""
    result = gx_runner.validate(payload or load_payload(), frame, "SUMMARY")
    failures = []
    for r in result.results:
        if r.success:
            continue
        cfg_ = r.expectation_config
        meta = dict(cfg_.meta or {})
        res = r.result or {}
        exc = gx_runner.exception_text(r)
        failures.append(SuiteFailure(
            expectation=cfg_.type, column=cfg_.kwargs.get("column"), rule=meta.get("rule", cfg_.type),
            message=meta.get("message", ""), unexpected_count=int(res.get("unexpected_count") or 0),
            examples=list(res.get("partial_unexpected_list") or [])[:10], exception=exc))
    stats = result.statistics or {}
    return SuiteResult(success=bool(result.success), evaluated=int(stats.get("evaluated_expectations", 0)),
                       failures=failures)


# The suite's expectation types, evaluated as polars expressions over the whole frame at once. The
# suite file stays the one definition; tests hold these verdicts equal to Great Expectations' own.
# Nulls are skipped as GX skips them (except by not_null).
def _in_set(frame, kw):
    c = frame[kw["column"]]
    return c.is_not_null() & ~c.cast(pl.Utf8).is_in([str(v) for v in kw["value_set"]])


def _regex(frame, kw):
    c = frame[kw["column"]]
    return c.is_not_null() & ~c.cast(pl.Utf8).str.contains(kw["regex"]).fill_null(True)


def _const(frame, value: bool) -> pl.Series:
    return pl.Series([value] * frame.height, dtype=pl.Boolean)


def _between(frame, kw):
    c = frame[kw["column"]]
    bad = _const(frame, False)
    if kw.get("min_value") is not None:
        bad = bad | (c < kw["min_value"]).fill_null(False)
    if kw.get("max_value") is not None:
        bad = bad | (c > kw["max_value"]).fill_null(False)
    return bad


def _compound_unique(frame, kw):
    cols = kw["column_list"]
    # GX's ignore_row_if: rows it skips are neither counted nor compared
    ignore = kw.get("ignore_row_if", "all_values_are_missing")
    if ignore == "never":
        present = _const(frame, True)
    elif ignore == "any_value_is_missing":
        present = frame.select(pl.all_horizontal([pl.col(c).is_not_null() for c in cols])).to_series()
    else:
        present = frame.select(pl.any_horizontal([pl.col(c).is_not_null() for c in cols])).to_series()
    dup = frame.select(pl.struct(cols).filter(present).is_duplicated()).to_series()
    out = _const(frame, False)
    return out.scatter(present.arg_true(), dup) if len(dup) else out


def _member(frame, kw):
    """Non-null cells of the column found in value_set (numbers compared as numbers)."""
    c = frame[kw["column"]]
    values = list(kw["value_set"])
    numeric = c.dtype.is_numeric() and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if numeric:
        return c.is_not_null() & c.cast(pl.Float64).is_in([float(v) for v in values]).fill_null(False)
    return c.is_not_null() & c.cast(pl.Utf8).is_in([str(v) for v in values]).fill_null(False)


ROW_EXPECTATIONS = {
    "expect_column_values_to_not_be_null": lambda frame, kw: frame[kw["column"]].is_null(),
    "expect_column_values_to_be_in_set": _in_set,
    "expect_column_values_to_not_be_in_set": _member,
    "expect_column_values_to_match_regex": _regex,
    "expect_column_values_to_be_between": _between,
    "expect_compound_columns_to_be_unique": _compound_unique,
}



def evaluate_frame(frame: pl.DataFrame, payload: dict | None = None) -> SuiteResult:
    """The suite on a polars frame in one vectorised pass (no Great Expectations import: seconds
    saved per run). An expectation type not listed above goes to Great Expectations."""
    payload = payload or load_payload()
    failures: list[SuiteFailure] = []
    rest = []
    for e in payload["expectations"]:
        kw, kind, meta = e["kwargs"], e["type"], dict(e.get("meta") or {})
        if kind == "expect_column_to_exist":
            if kw["column"] not in frame.columns:
                failures.append(SuiteFailure(kind, kw["column"], meta.get("rule", kind), meta.get("message", ""), 0,
                                             exception=f"column {kw['column']} not found"))
            continue
        if kind == "expect_table_row_count_to_be_between":
            lo, hi = kw.get("min_value"), kw.get("max_value")
            if (lo is not None and frame.height < lo) or (hi is not None and frame.height > hi):
                failures.append(SuiteFailure(kind, None, meta.get("rule", kind), meta.get("message", ""), 0,
                                             [frame.height]))
            continue
        if kind == "expect_table_columns_to_match_set":
            want, have = set(kw["column_set"]), set(frame.columns)
            ok = want == have if kw.get("exact_match", True) else want <= have
            if not ok:
                failures.append(SuiteFailure(kind, None, meta.get("rule", kind), meta.get("message", ""), 0,
                                             sorted(want ^ have)))
            continue
        fn = ROW_EXPECTATIONS.get(kind)
        if fn is None:
            rest.append(e)
            continue
        cols = kw.get("column_list") or [kw["column"]]
        missing = [c for c in cols if c not in frame.columns]
        if missing:   # GX raises on a missing column: a failed expectation
            failures.append(SuiteFailure(kind, kw.get("column"), meta.get("rule", kind), meta.get("message", ""),
                                         0, exception=f"column(s) {', '.join(missing)} not found"))
            continue
        bad = fn(frame, kw)
        n = int(bad.sum())
        if n:
            shown = frame.filter(bad).head(10)
            examples = (shown.select(cols).to_dicts() if len(cols) > 1 else shown[cols[0]].to_list())
            failures.append(SuiteFailure(kind, kw.get("column"), meta.get("rule", kind), meta.get("message", ""),
                                         n, examples))
    evaluated = len(payload["expectations"]) - len(rest)
    if rest:
        res = validate_frame(frame.to_pandas(), {**payload, "expectations": rest})
        failures += res.failures
        evaluated += res.evaluated
    return SuiteResult(success=not failures, evaluated=evaluated, failures=failures)
