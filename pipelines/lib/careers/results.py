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


def row_problems(file: str, frame: pl.DataFrame, mask: pl.Series, severity: str, rule: str, message: str,
                 fix: str, column_col: str, value_col: str) -> list[Problem]:
    """One Problem per distinct (row, column, value) where mask is true, capped per rule."""
    if isinstance(mask, pl.Series) and not mask.any():  # the common case: nothing to report
        return []
    hits = (frame.filter(mask).select(pl.col("_row"), pl.col(column_col).alias("c"), pl.col(value_col).alias("v"))
            .unique(maintain_order=True))
    out = []
    for r in hits.head(MAX_PROBLEMS_PER_RULE).iter_rows(named=True):
        out.append(Problem(severity, rule, message, fix, file=file, row=int(r["_row"]), column=r["c"],
                           value=safe_value(r["v"])))
    if hits.height > MAX_PROBLEMS_PER_RULE:
        out.append(Problem(severity, rule, f"{message} (and {hits.height - MAX_PROBLEMS_PER_RULE} more rows "
                           "with the same problem, not listed)", fix, file=file))
    return out


def sort_problems(problems: list[Problem]) -> list[Problem]:
    order = {"file": 0, "error": 1, "warning": 2}
    return sorted(problems, key=lambda p: (order[p.severity], p.row if p.row is not None else -1, p.rule))
