"""Read FSQ and Compass exports through the one intake reader, with the careers header rules."""
from __future__ import annotations

from pipelines.lib.intake.cells import (academic_year_of, map_unique, parse_date, parse_int,  # noqa: F401
                                        safe_value, term_of)
from pipelines.lib.intake.read import Table, read_table
from pipelines.lib.problems import Problem


def read_grid(data: bytes, name: str, aliases: dict[str, str], required: list[str],
              is_extra_key=lambda key: False, what: str = "export", limits=None) -> tuple[Table, dict[str, int]]:
    """The table (header row = most known column names) and {field: column index}."""
    t = read_table(data, name, aliases, required, is_extra_key=is_extra_key, what=what, limits=limits)
    if t.rejected:
        return t, {}
    for f in required:
        if f not in t.columns:
            t.problems.append(Problem(
                "file", "missing_column", f"the required column '{f}' is missing",
                f"add a column headed '{f}' (see the list of columns in the trust's guidance)",
                file=name, row=t.header_row, column=f))
    if not t.rejected and t.height == 0:
        t.problems.append(Problem("file", "no_rows", "the file has a header row but no data rows",
                                  "export the file again with its data rows", file=name, row=t.header_row))
    return t, t.columns
