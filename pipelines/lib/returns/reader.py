"""Read a submitted return into a table of text cells under the canonical column names.

The bytes are read by the one intake reader (`pipelines.lib.intake.read`); this module adds
the return's own header rules (aliases, required columns, unknown columns). `read_return`
never raises. Row numbers are the rows the academy sees in Excel.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from pipelines.lib.intake.read import ROW, SAVE_AS, clean_cells, read_table
from pipelines.lib.problems import Problem
from pipelines.lib.returns import spec

ROW_COL = "__row"          # Excel row number of each pupil row


@dataclass
class ReadResult:
    """Text cells of the return, columns renamed to the canonical names."""

    table: pl.DataFrame | None               # canonical columns (Utf8) + ROW_COL (Int64); None if rejected
    headers: dict[str, str] = field(default_factory=dict)   # canonical name -> header as written
    problems: list[Problem] = field(default_factory=list)
    file_format: str = ""                    # csv | xlsx
    encoding: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    uncleaned: str | None = None             # read with clean=False: the file name, until `clean_reads`

    @property
    def rejected(self) -> bool:
        return any(p.severity == "file" for p in self.problems)


def read_return(data: bytes, name: str = "", aliases: dict[str, str] | None = None, limits=None,
                clean: bool = True) -> ReadResult:
    """Read the bytes of a submitted file. Never raises; problems explain any failure. `clean=False`:
    the cells are left as read, for `clean_reads` to clean many files at once (a load)."""
    if aliases is None:
        try:
            aliases = spec.load_aliases()
        except Exception as exc:  # noqa: BLE001 - a broken alias file is feedback, not a crash
            return ReadResult(table=None, problems=[Problem(
                "file", "file_unreadable", f"the trust's header configuration could not be used: {exc}",
                "ask the trust data team to correct config/header_aliases.yaml", file=name)])
    t = read_table(data, name, aliases, spec.REQUIRED, what="return", limits=limits, raw_cells=not clean, header_fix=(
        "put the column headers in one row above the pupil rows (download the template with "
        "`destinations template` to see them)"))
    result = ReadResult(table=None, problems=list(t.problems), file_format=t.file_format,
                        encoding=t.encoding, sheet=t.sheet, header_row=t.header_row or None)
    if t.rejected:
        return result
    result.headers = {c: t.header[j] for c, j in t.columns.items()}
    for j, h in enumerate(t.header):
        if h and j not in t.columns.values() and spec.norm_header(h) not in aliases:
            result.problems.append(Problem(
                "warning", "unknown_column", "this column is not part of the destination return and was ignored",
                "remove the column, or ask the trust data team to add its name to "
                "config/header_aliases.yaml if it is one of the return's columns under another name",
                file=name, row=t.header_row, column=h))
    for c in spec.REQUIRED:
        if c not in t.columns:
            result.problems.append(Problem(
                "file", "missing_column",
                f"the required column '{c}' is missing ({spec.COLUMN_BY_NAME[c].description})",
                f"add a column headed '{c}' with a value for every pupil", file=name, row=t.header_row, column=c))
    if result.rejected:
        return result
    result.table = t.body.select([pl.col(f"c{j}").alias(c) for c, j in t.columns.items()] + [pl.col(ROW).alias(ROW_COL)])
    if clean:
        _keep_rows(result, name, _pupil_rows(result.table.lazy(), list(t.columns)).collect())
    else:
        result.uncleaned = name
    return result


def _pupil_rows(frame: pl.LazyFrame, columns: list[str]) -> pl.LazyFrame:
    """Rows with at least one value in a return column (the body is already cleaned)."""
    return frame.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in columns]))


def _keep_rows(result: ReadResult, name: str, frame: pl.DataFrame) -> None:
    result.uncleaned = None
    if frame.height == 0:
        result.table = None
        result.problems.append(Problem("file", "no_rows", "the file has a header row but no pupil rows",
                                       "add one row per pupil below the header row", file=name,
                                       row=result.header_row))
        return
    result.table = frame


_FILE = "__read"


def stack_files(frames: list[pl.DataFrame], key: str, how: str = "diagonal") -> pl.DataFrame:
    """Many files' frames as one, each row tagged with its file's index in `key` (Int32, after the first
    file's columns); columns a file lacks are null (`how="vertical_relaxed"`: same columns, types
    widened). The tags are one column made at once, not a column added to each file."""
    import numpy as np

    every = pl.concat(frames, how=how)
    which = np.repeat(np.arange(len(frames), dtype=np.int32), [f.height for f in frames])
    first = frames[0].columns
    known = set(first)
    order = [*first, key, *(c for c in every.columns if c not in known)]
    return every.with_columns(pl.Series(key, which, dtype=pl.Int32)).select(order)


def clean_reads(results: list[ReadResult]) -> None:
    """Finish `read_return(clean=False)` for many files in one polars pass: cells cleaned, blank rows
    dropped, a file left without pupil rows rejected, exactly as each file read alone."""
    todo = [r for r in results if r.uncleaned is not None and r.table is not None]
    if not todo:
        return
    try:
        columns = [c for c in spec.COLUMN_BY_NAME if any(c in r.table.columns for r in todo)]
        every = stack_files([r.table for r in todo], _FILE).lazy()
        parts = (_pupil_rows(clean_cells(every, columns), columns).collect()
                 .partition_by(_FILE, as_dict=True, include_key=False))
    except Exception:  # noqa: BLE001 - one file at a time, where a failure is that file's feedback
        parts = None
    for k, r in enumerate(todo):
        name, own = r.uncleaned, r.table.columns
        if parts is not None:
            _keep_rows(r, name, parts.get((k,), r.table.head(0)).select(own))
            continue
        try:
            _keep_rows(r, name, _pupil_rows(clean_cells(r.table.lazy(), own[:-1]), own[:-1]).collect())
        except Exception as exc:  # noqa: BLE001
            r.table, r.uncleaned = None, None
            r.problems.append(Problem("file", "file_unreadable",
                                      f"the file could not be read ({type(exc).__name__}: {str(exc)[:150]})",
                                      SAVE_AS, file=name))
