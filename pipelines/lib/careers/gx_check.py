"""FSQ / Compass suites through the one GX runner (pipelines.lib.intake.gx), worded per row.

Each expectation carries its feedback in `meta` (rule, severity, message, fix); failures come
back as (meta, index values of the failing rows) so the caller can word row-level problems.
Great Expectations is imported lazily: it is slow to import.
"""
from __future__ import annotations

import json

from pipelines.lib.intake import gx as gx_runner


def load_suite_payload(name: str) -> str:
    return gx_runner.suite_text(name)


def run_suite(name: str, frame, parameters: dict | None = None) -> list[tuple[dict, list, str | None]]:
    """Validate `frame` (pandas) against the suite; return [(meta, failing index values, exception)]
    for each failed expectation. An expectation that could not run (e.g. a missing column) is a
    failure with its exception text."""
    result = gx_runner.validate(gx_runner.suite_payload(name), frame, "COMPLETE", parameters)
    failed = []
    for r in result.results:
        if r.success:
            continue
        meta = dict(r.expectation_config.meta or {})
        meta["_gx_column"] = (r.expectation_config.kwargs or {}).get("column")
        failed.append((meta, list(r.result.get("unexpected_index_list") or []), gx_runner.exception_text(r)))
    return failed


# Expectations whose verdict on a row depends only on that row's value in one column: running them
# on the column's distinct values gives exactly the same failing values, hence the same failing rows.
PER_VALUE = {
    "expect_column_to_exist", "expect_column_values_to_not_be_null", "expect_column_values_to_be_null",
    "expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex",
    "expect_column_values_to_match_regex_list", "expect_column_values_to_not_match_regex_list",
    "expect_column_values_to_be_between", "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set", "expect_column_value_lengths_to_be_between",
    "expect_column_value_lengths_to_equal", "expect_column_values_to_match_strftime_format",
}
NOT_PER_VALUE_KWARGS = {"mostly", "row_condition", "condition_parser"}  # success depends on the whole column


def per_value_suite(name: str) -> bool:
    """True when every expectation of the suite is a per-value check (so distinct values suffice)."""
    payload = json.loads(load_suite_payload(name))
    return all(e["type"] in PER_VALUE and not (set(e.get("kwargs", {})) & NOT_PER_VALUE_KWARGS)
               for e in payload["expectations"])


class Failure:
    """A failed expectation: its meta, the exception text if it could not run, and which rows fail.

    `mask(frame, offset)` gives the failing rows of `frame` (the GX-shaped frame of one file, which
    starts at row `offset` of the validated whole), or None when nothing row-level failed (the
    expectation failed as a whole: a missing column, an exception)."""

    def __init__(self, meta: dict, exc: str | None, column: str | None = None, values=None,
                 null_fails: bool = False, full_mask=None):
        self.meta, self.exc, self.column = meta, exc, column
        self.values, self.null_fails, self.full_mask = values, null_fails, full_mask

    @property
    def row_level(self) -> bool:
        return self.full_mask is not None or self.values is not None

    def mask(self, frame, offset: int = 0):
        import polars as pl

        if self.full_mask is not None:
            return self.full_mask.slice(offset, frame.height)
        if self.values is None:
            return None
        col = frame[self.column]
        m = col.is_in(self.values.implode()) if len(self.values) else pl.repeat(False, frame.height, eager=True)
        if self.null_fails:
            m = m | col.is_null()
        return m.fill_null(False)


def _resolve(kwargs: dict, parameters: dict | None) -> dict:
    """The expectation's kwargs with {"$PARAMETER": name} replaced by the run's parameter."""
    return {k: (parameters or {})[v["$PARAMETER"]] if isinstance(v, dict) and "$PARAMETER" in v else v
            for k, v in kwargs.items()}


def evaluate_polars(name: str, frame, parameters: dict | None = None) -> list[Failure] | None:
    """The suite on a polars frame as polars expressions (no Great Expectations import: ~7 CPU-s
    saved per run), with GX's verdicts (tests/careers/test_gx_exact.py holds them equal). One
    failing-row mask per failed expectation over the whole frame. None when the suite uses an
    expectation type the polars evaluator does not know (the caller then asks GX)."""
    from pipelines.lib.returns.gx_suite import ROW_EXPECTATIONS

    import polars as pl

    payload = json.loads(load_suite_payload(name))
    frame = frame.with_columns(pl.col(pl.Float32, pl.Float64).fill_nan(None))   # pandas reads NaN as missing
    out: list[Failure] = []
    uniques: dict[str, pl.Series] = {}   # each column's distinct values, found once for all its checks
    for e in payload["expectations"]:
        kind, kw, meta = e["type"], _resolve(e.get("kwargs", {}), parameters), dict(e.get("meta") or {})
        if set(kw) & NOT_PER_VALUE_KWARGS:
            return None
        if kind == "expect_column_to_exist":
            if kw["column"] not in frame.columns:
                out.append(Failure(meta, f"column {kw['column']} not found"))
            continue
        fn = ROW_EXPECTATIONS.get(kind)
        if fn is None or kind == "expect_compound_columns_to_be_unique":
            return None
        if kw["column"] not in frame.columns:
            out.append(Failure(meta, f"column {kw['column']} not found"))
            continue
        # a per-value check: decided once per distinct value, then mapped back to the rows
        col = frame[kw["column"]]
        uniq = uniques.get(kw["column"])
        if uniq is None:
            uniq = uniques[kw["column"]] = col.unique()
        hit = uniq.filter(fn(pl.DataFrame({kw["column"]: uniq}), kw).fill_null(False))
        if len(hit):
            bad = col.is_in(hit.drop_nulls().implode()).fill_null(False)
            if hit.null_count():
                bad = bad | col.is_null()
            out.append(Failure(meta, None, kw["column"], full_mask=bad))
    return out


def suite_failures(name: str, frame, parameters: dict | None = None, gx_frame=None) -> list[Failure]:
    """The suite's failures over `frame`: evaluated in polars; by Great Expectations only when the
    suite uses an expectation type the polars evaluator lacks (`gx_frame()`, if given, is the frame
    GX gets instead, e.g. with dates as text)."""
    fails = evaluate_polars(name, frame, parameters)
    if fails is None:
        fails = validate_frame(name, frame if gx_frame is None else gx_frame(), parameters)
    return fails


def validate_frame(name: str, frame, parameters: dict | None = None) -> list[Failure]:
    """Run the suite over a polars frame (all the files of a run, concatenated).

    When every expectation is a per-value check, GX validates a frame holding each column's
    distinct values (cycled to a common length), and the failing values map back to rows
    exactly; otherwise it validates the whole frame. Either way GX decides every value."""
    import polars as pl

    if frame.height and per_value_suite(name):
        uniq = {c: frame[c].unique(maintain_order=True) for c in frame.columns}
        n = max(len(s) for s in uniq.values())
        small = pl.DataFrame({c: s.gather(pl.int_range(0, n, eager=True) % len(s)) for c, s in uniq.items()})
        out = []
        for meta, idx, exc in run_suite(name, small.to_pandas(), parameters):
            col = meta.get("_gx_column")
            payload_col = col if col in small.columns else None
            if not idx or payload_col is None:
                out.append(Failure(meta, exc))
                continue
            hit = small[payload_col].gather([int(i) for i in idx])
            out.append(Failure(meta, exc, payload_col, hit.drop_nulls().unique(), bool(hit.null_count())))
        return out
    out = []
    for meta, idx, exc in run_suite(name, frame.to_pandas(), parameters):
        if not idx:
            out.append(Failure(meta, exc))
            continue
        out.append(Failure(meta, exc, meta.get("_gx_column"), full_mask=pl.Series(range(frame.height)).is_in(idx)))
    return out
