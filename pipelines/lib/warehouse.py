"""Raw-layer tables that dbt reads as sources (schema `raw`), and safe writes to them.

Python ingest writes only to `raw.*`; dbt owns `staging`, `intermediate` and `marts`.
"""
from __future__ import annotations

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
    "consent_follow_up", "date_ascertained", "source_file", "file_sha256", "source_row",
]


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    for ddl in (DESTINATION_RETURNS_DDL, ACADEMIES_DDL, ROUNDS_DDL):
        con.execute(ddl)


def replace_rows(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame,
                 where: str, params: list) -> None:
    """Delete the rows matching `where` and insert `frame`, in one transaction.

    A failure leaves the table as it was, so nothing already loaded is lost.
    """
    replace_many(con, [(table, frame, where, params)])


def replace_many(con: duckdb.DuckDBPyConnection,
                 changes: list[tuple[str, pl.DataFrame, str, list]]) -> None:
    """`replace_rows` for several tables at once: all change together or none does."""
    con.execute("begin transaction")
    try:
        for table, frame, where, params in changes:
            con.execute(f"delete from {table} where {where}", params)
            if frame.height:
                con.register("_incoming", frame.to_arrow())
                cols = ", ".join(frame.columns)
                con.execute(f"insert into {table} ({cols}) select {cols} from _incoming")
                con.unregister("_incoming")
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
