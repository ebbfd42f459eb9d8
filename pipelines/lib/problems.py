"""A problem found in a submitted file, worded for the person who must fix it."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["file", "error", "warning"]
# file    -> the whole file is rejected
# error   -> the row is excluded, the rest is loaded
# warning -> the row is loaded; the academy should check it


@dataclass(frozen=True)
class Problem:
    severity: Severity
    rule: str            # stable rule id, e.g. "upn_check_letter"
    message: str         # what is wrong, in plain English
    fix: str             # how to fix it
    file: str = ""
    row: int | None = None      # row number as the academy sees it in the file (header = its own row)
    column: str | None = None   # the column name as written in the file
    value: str | None = None    # the offending value (never a whole pupil record)

    def as_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        loc = (", ".join(where) + ": ") if where else ""
        val = f" (value: {self.value!r})" if self.value not in (None, "") else ""
        label = {"file": "REJECTED", "error": "ERROR", "warning": "WARNING"}[self.severity]
        return f"{label} {loc}{self.message}{val}. How to fix: {self.fix}"


class ProblemCounts:
    """`warnings` / `errors` of a result that has `problems` and, when the list was capped,
    `counts` (severity -> problems found)."""
    problems: list[Problem]
    counts: dict[str, int] | None

    def _count(self, severity: str) -> int:
        if self.counts is not None:
            return self.counts.get(severity, 0)
        return sum(1 for p in self.problems if p.severity == severity)

    @property
    def warnings(self) -> int:
        return self._count("warning")

    @property
    def errors(self) -> int:
        return self._count("error")
