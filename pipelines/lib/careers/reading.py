"""Read FSQ and Compass exports through the one intake reader, with the careers header rules."""
from __future__ import annotations

from pipelines.lib.intake.cells import (academic_year_of, map_unique, parse_date, parse_int,  # noqa: F401
                                        safe_value, term_of)
from pipelines.lib.intake.read import Table, read_table
from pipelines.lib.problems import Problem


def read_grid(data: bytes, name: str, aliases: dict[str, str], required: list[str],
              is_extra_key=lambda key: False, what: str = "export", limits=None,
              raw_cells: bool = False) -> tuple[Table, dict[str, int]]:
    """The table (header row = most known column names) and {field: column index}. `raw_cells`:
    the body as read (intake `read_table`), for a caller cleaning many files at once, which then
    rejects a file left without rows itself (`no_rows`)."""
    t = read_table(data, name, aliases, required, is_extra_key=is_extra_key, what=what, limits=limits,
                   raw_cells=raw_cells)
    if t.rejected:
        return t, {}
    for f in required:
        if f not in t.columns:
            t.problems.append(Problem(
                "file", "missing_column", f"the required column '{f}' is missing",
                f"add a column headed '{f}' (see the list of columns in the trust's guidance)",
                file=name, row=t.header_row, column=f))
    if not raw_cells and not t.rejected and t.height == 0:
        t.problems.append(no_rows(name, t.header_row))
    return t, t.columns


def no_rows(name: str, header_row: int) -> Problem:
    return Problem("file", "no_rows", "the file has a header row but no data rows",
                   "export the file again with its data rows", file=name, row=header_row)
