"""What validating one FSQ or Compass file produced, and helpers shared by both validators."""
from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from pipelines.lib.problems import Problem
from pipelines.lib.careers.reading import safe_value

MAX_PROBLEMS_PER_RULE = 200  # the rest of a rule's problems are summarised in one line


@dataclass
class FileResult:
    kind: str                    # fsq | compass
    file: str                    # path relative to the data directory (or the name given)
    academy_urn: str
    academic_year: str | None
    sha256: str
    rows: pl.DataFrame | None = None   # rows to land (raw-table shape); None when rejected
    problems: list[Problem] = field(default_factory=list)
    rows_total: int = 0          # data rows in the file (as the academy sees them)
    rows_loaded: int = 0         # data rows with at least one value landed
    layout: str = ""             # long | wide | compass
    headers: dict = field(default_factory=dict, repr=False)   # field -> column header as written

    @property
    def rejected(self) -> bool:
        return any(p.severity == "file" for p in self.problems)

    @property
    def status(self) -> str:
        return "rejected" if self.rejected else ("accepted_with_problems" if self.problems else "accepted")

    def counts(self) -> dict[str, int]:
        out = {"file": 0, "error": 0, "warning": 0}
        for p in self.problems:
            out[p.severity] += 1
        return out


def file_problem(file: str, rule: str, message: str, fix: str, **kw) -> Problem:
    return Problem("file", rule, message, fix, file=file, **kw)


def file_verdict(res: FileResult, rows_bad: int, loadable: int, limit: float, what: str = "row") -> None:
    """A file's own verdict once its rows are checked: rejected whole when more than `limit` of its
    rows have errors, or when none of its `what`s can be loaded; then its problems in order."""
    share = rows_bad / max(1, res.rows_total)
    if share > limit:
        res.problems.append(file_problem(
            res.file, "too_many_invalid", f"{rows_bad} of {res.rows_total} rows ({share:.0%}) have errors, "
            f"more than the {limit:.0%} the trust accepts, so the whole file was rejected",
            "fix the errors listed below and send the file again"))
    if not res.rejected and loadable == 0:
        res.problems.append(file_problem(res.file, "no_valid_rows", f"no {what} of the file could be loaded",
                                         "fix the errors listed below and send the file again"))
    res.problems = sort_problems(res.problems)


class BatchFeedback:
    """Row problems of every file checked in one frame (`big`, its rows tagged `_file`), worded as
    the feedback of one file checked alone. `q_fields`: fields whose header is per row (`_q`, the
    question column of a wide FSQ export); the others take the file's header (`FileResult.headers`)."""

    def __init__(self, results: list[FileResult], big: pl.DataFrame, q_fields: tuple[str, ...] = ()):
        self.results, self.big, self.q_fields = results, big, q_fields
        self.problems: list[list[Problem]] = [[] for _ in results]

    def column(self, f: int, field: str, q: str | None) -> str:
        return q if q is not None else self.results[f].headers.get(field, field)

    def suite_not_run(self, fail, column: str) -> None:
        """A suite check that could not run (or is file-level) without a row mask: every file says so."""
        meta = fail.meta
        for f, res in enumerate(self.results):
            self.problems[f].append(file_problem(res.file, meta.get("rule", "gx"),
                                                 meta.get("message", fail.exc or "check failed"),
                                                 meta.get("fix", ""), column=column))

    def rows(self, mask: pl.Series, severity: str, rule: str, message, fix: str, field: str, value_col: str) -> None:
        """One Problem per distinct (row, column, value) of each file where mask is true, capped per rule;
        `message` is a text or a function of the file's result."""
        if not mask.any():
            return
        q = pl.col("_q") if field in self.q_fields else pl.lit(None, pl.Utf8)
        hits = (self.big.filter(mask).select("_file", "_row", q.alias("q"), pl.col(value_col).alias("v"))
                .unique(maintain_order=True)
                .with_columns(k=pl.int_range(pl.len()).over("_file"), n=pl.len().over("_file"))
                .filter(pl.col("k") < MAX_PROBLEMS_PER_RULE))
        for f, row, qq, v, k, n in hits.iter_rows():
            res = self.results[f]
            text = message(res) if callable(message) else message
            self.problems[f].append(Problem(severity, rule, text, fix, file=res.file, row=int(row),
                                            column=self.column(f, field, qq), value=safe_value(v)))
            if k == MAX_PROBLEMS_PER_RULE - 1 and n > MAX_PROBLEMS_PER_RULE:
                self.problems[f].append(Problem(severity, rule, f"{text} (and {n - MAX_PROBLEMS_PER_RULE} more rows "
                                                "with the same problem, not listed)", fix, file=res.file))

    def unknown_items(self, mask: pl.Series, meta: dict) -> None:
        """One warning per unmapped question of each file, with its count of answers and first row."""
        if not mask.any():
            return
        groups = (self.big.filter(mask).group_by("_file", "item_raw", maintain_order=True)
                  .agg(pl.len().alias("n"), pl.col("_row").min().alias("first"), pl.col("_q").first().alias("q")))
        for f, item, n, first, qq in groups.iter_rows():
            res = self.results[f]
            self.problems[f].append(Problem(
                "warning", "item_unknown", f"{meta['message']} ({n} answers, first at row {int(first)})", meta["fix"],
                file=res.file, row=int(first), column=self.column(f, "item_id", qq), value=str(item)[:60]))


def file_slices(frame: pl.DataFrame, files: list[int]) -> list[pl.DataFrame]:
    """Each of `files`' rows of `frame` (tagged `_file`, in file order, as the checks keep them), as
    zero-copy slices without `_file`; cheaper than `partition_by` on millions of rows."""
    if not frame["_file"].is_sorted():
        parts = frame.partition_by("_file", as_dict=True, include_key=False)
        return [parts.get((f,), frame.drop("_file").head(0)) for f in files]
    counts = dict(frame["_file"].value_counts().iter_rows())
    body, out, start = frame.drop("_file"), [], 0
    for f in files:
        n = counts.get(f, 0)
        out.append(body.slice(start, n))
        start += n
    return out


def sort_problems(problems: list[Problem]) -> list[Problem]:
    order = {"file": 0, "error": 1, "warning": 2}
    return sorted(problems, key=lambda p: (order[p.severity], p.row if p.row is not None else -1, p.rule))
