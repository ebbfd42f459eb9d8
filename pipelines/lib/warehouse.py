"""Raw-layer tables that dbt reads as sources (schema `raw`), and safe writes to them.

Python ingest writes only to `raw.*`; dbt owns `staging`, `intermediate` and `marts`.
"""
from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:   # imported where used: `destinations run` with nothing new needs neither (~0.7 s)
    import duckdb
    import polars as pl

DESTINATION_RETURNS_DDL = """
create table if not exists raw.destination_returns (
    academy_urn varchar not null,      -- 6-digit URN of the returning academy
    leaving_year varchar not null,     -- YYYY-YY
    round varchar not null,            -- R1 | R2 | R3 | configured follow-up rounds
    upn varchar not null,              -- 13 characters, upper case, check letter valid
    upn_is_temporary boolean not null,
    year_group integer not null,       -- 11..14
    sex varchar not null,              -- M | F
    disadvantaged boolean not null,
    sen_provision varchar not null,    -- N | K | E
    destination_code varchar not null, -- code from seeds/destination_codes.csv (UND intended only)
    fsm_eligible boolean,
    looked_after boolean,
    ethnicity varchar,                 -- CBDS code, upper case
    route varchar,                     -- one of seeds/routes.csv
    provider varchar,
    provider_id varchar,
    level varchar,                     -- 1 | 2 | 3 | 4+
    september_guarantee varchar,       -- offer_made | no_offer | not_appropriate | not_recorded
    consent_follow_up boolean,
    date_ascertained date,
    pupil_name varchar,                -- optional name / admission number: own academy's NEET-risk list only
    source_file varchar not null,      -- path relative to the data directory
    file_sha256 varchar not null,
    source_row integer not null        -- row number in the file as the academy sees it
)
"""

ACADEMIES_DDL = """
create table if not exists raw.academies (
    urn varchar not null,
    name varchar not null,
    la_code varchar not null,
    phase varchar not null,
    has_sixth_form boolean not null,
    joined_trust date not null
)
"""

ROUNDS_DDL = """
create table if not exists raw.rounds (
    round varchar not null,
    round_kind varchar not null,   -- intended | actual
    round_label varchar not null,
    round_order integer not null,
    due_month_day varchar not null,
    due_year_offset integer not null
)
"""

RETURN_COLUMNS = [
    "academy_urn", "leaving_year", "round", "upn", "upn_is_temporary", "year_group", "sex",
    "disadvantaged", "sen_provision", "destination_code", "fsm_eligible", "looked_after",
    "ethnicity", "route", "provider", "provider_id", "level", "september_guarantee",
    "consent_follow_up", "date_ascertained", "pupil_name", "source_file", "file_sha256", "source_row",
]


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    for ddl in (DESTINATION_RETURNS_DDL, ACADEMIES_DDL, ROUNDS_DDL):
        con.execute(ddl)
    # columns added since a warehouse was first built
    con.execute("alter table raw.destination_returns add column if not exists pupil_name varchar")


def replace_rows(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame,
                 where: str, params: list) -> None:
    """Delete the rows matching `where` and insert `frame`, in one transaction.

    A failure leaves the table as it was, so nothing already loaded is lost.
    """
    replace_many(con, [(table, frame, where, params)])


def replace_in_open_transaction(con: duckdb.DuckDBPyConnection,
                               changes: list[tuple[str, pl.DataFrame, str, list]]) -> None:
    """Delete + insert per table, inside a transaction the caller already holds."""
    for table, frame, where, params in changes:
        con.execute(f"delete from {table} where {where}", params)
        if frame.height:
            con.register("_incoming", frame.to_arrow())
            cols = ", ".join(frame.columns)
            con.execute(f"insert into {table} ({cols}) select {cols} from _incoming")
            con.unregister("_incoming")


def replace_many(con: duckdb.DuckDBPyConnection,
                 changes: list[tuple[str, pl.DataFrame, str, list]]) -> None:
    """`replace_rows` for several tables at once: all change together or none does."""
    con.execute("begin transaction")
    try:
        replace_in_open_transaction(con, changes)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def replace_table(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Swap a whole raw table for `frame` atomically."""
    con.execute("begin transaction")
    try:
        con.register("_incoming", frame.to_arrow())
        con.execute(f"create or replace table {table} as select * from _incoming")
        con.unregister("_incoming")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


# ------------------------------------------------------------------ one writer per data directory

LOCK_NAME = ".run.lock"


class RunInProgress(RuntimeError):
    """Another process holds the data directory's run lock."""


def lock_holder(warehouse_dir: Path) -> dict:
    """Who holds (or last held) the run lock: {"pid", "started_at", "what"}; {} when unknown."""
    try:
        return json.loads((warehouse_dir / LOCK_NAME).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def describe_holder(holder: dict) -> str:
    if not holder:
        return "the warehouse is in use (a run, or a short read such as `destinations submit`)"
    return (f"a run is in progress ({holder.get('what', 'destinations run')}, pid {holder.get('pid', '?')}, "
            f"started at {holder.get('started_at', '?')})")


_held: dict[str, list] = {}   # lock path -> [file object, depth]; re-entrant within one process
_held_guard = threading.Lock()


@contextmanager
def run_lock(warehouse_dir: Path, what: str = "destinations run", wait: float | None = None,
             on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Exclusive lock on <warehouse>/.run.lock for everything that writes the warehouse.

    An OS file lock (flock): a killed holder releases it with its last file descriptor, so a
    crash never blocks the next run. Re-entrant within one process. `wait` None waits for
    ever, 0 fails at once, else seconds; on a timeout raises RunInProgress naming the holder.
    """
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    path = str((warehouse_dir / LOCK_NAME).resolve())
    with _held_guard:
        entry = _held.get(path)
        if entry is not None:
            entry[1] += 1
    if entry is not None:
        try:
            yield
        finally:
            with _held_guard:
                entry[1] -= 1
        return
    fh = open(path, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = lock_holder(warehouse_dir)
            msg = describe_holder(holder)
            if wait == 0 and not holder:
                wait = 10.0          # a short reader (`submit`), not a run: worth a moment's wait
            if wait == 0:
                raise RunInProgress(msg) from None
            if on_wait:
                on_wait(f"Waiting: {msg}.")
            deadline = None if wait is None else time.monotonic() + wait
            while True:
                time.sleep(0.05)
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if deadline is not None and time.monotonic() > deadline:
                        raise RunInProgress(describe_holder(lock_holder(warehouse_dir))) from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "what": what,
                             "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
        fh.flush()
        with _held_guard:
            _held[path] = [fh, 1]
        try:
            yield
        finally:
            with _held_guard:
                _held.pop(path, None)
            fh.seek(0)
            fh.truncate()
            fh.flush()
    finally:
        fh.close()   # releases the flock


@contextmanager
def reader_lock(warehouse_dir: Path, wait: float = 0.0,
                on_wait: Callable[[str], None] | None = None) -> Iterator[bool]:
    """A shared hold on the run lock while a short-lived reader (e.g. `destinations submit`'s
    checks, a subject access request) has the warehouse file open. Yields False when a run is
    still in progress after `wait` seconds (0: at once): the reader must then not open the file
    at all, since DuckDB's file lock would make the run's writes (dbt) fail. A run that starts
    meanwhile waits for the read to end."""
    path = warehouse_dir / LOCK_NAME
    if not warehouse_dir.is_dir():
        yield True
        return
    with _held_guard:
        mine = str(path.resolve()) in _held
    if mine:                        # this process is the run
        yield True
        return
    fh = open(path, "a+", encoding="utf-8")
    try:
        free = _try_shared(fh)
        if not free and wait > 0:
            if on_wait:
                on_wait(f"Waiting: {describe_holder(lock_holder(warehouse_dir))}.")
            deadline = time.monotonic() + wait
            while not free and time.monotonic() < deadline:
                time.sleep(0.1)
                free = _try_shared(fh)
        yield free
    finally:
        fh.close()


def _try_shared(fh) -> bool:
    try:
        fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


# ------------------------------------------------------------------ opening the warehouse file

# another process holds the write lock: waiting helps
LOCK_CONFLICT = ("could not set lock", "conflicting lock")
# this process already has the file open with other settings (e.g. a run's read-write connection
# when a reader asks for read-only): waiting in this thread never helps; to a reader it means busy
IN_PROCESS_CONFLICT = "same database file with a different configuration"


def _held_open(exc: Exception) -> bool:
    """The file is open elsewhere (another process, or this one with other settings): not damaged."""
    msg = str(exc).lower()
    return any(h in msg for h in LOCK_CONFLICT) or IN_PROCESS_CONFLICT in msg


CORRUPT_HINTS = ("not a valid duckdb", "corrupt", "checksum", "invalid database", "failed to read",
                 "serialization error", "invalid input error: the file")


def connect_retrying(path: Path, read_only: bool = False, wait: float = 60.0) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file, retrying while a short-lived reader (e.g. `destinations submit`) holds it."""
    import duckdb
    deadline = time.monotonic() + wait
    delay = 0.1
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            if not any(h in str(exc).lower() for h in LOCK_CONFLICT) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def warehouse_problem(path: Path) -> str | None:
    """None when the warehouse file opens and answers a query (or does not exist yet); else the error."""
    if not path.exists():
        return None
    import duckdb
    try:
        con = connect_retrying(path)
        try:
            con.execute("select count(*) from information_schema.tables").fetchone()
            con.execute("checkpoint")
        finally:
            con.close()
    except duckdb.Error as exc:
        if _held_open(exc):
            raise        # held, not damaged: never a reason to move the file aside
        return str(exc).strip().splitlines()[0]
    return None


def read_problem(path: Path) -> str | None:
    """Why a read-only open fails right now: None (it opens), "busy" (a run holds the write
    lock) or the error of a damaged file."""
    import duckdb
    try:
        with reader_lock(path.parent) as free:
            if not free:
                return "busy"
            duckdb.connect(str(path), read_only=True).close()
    except duckdb.Error as exc:
        if _held_open(exc):
            return "busy"
        return str(exc).strip().splitlines()[0]
    return None


def move_aside(path: Path) -> Path:
    """Rename a damaged warehouse (and its WAL) to <name>.corrupt-<UTC time>; returns the new path."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    os.replace(path, target)
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        os.replace(wal, target.with_name(target.name + ".wal"))
    return target
