"""Which academies have not returned a round by its due date (plain functions + the raw table)."""
from __future__ import annotations

from datetime import date, datetime

import duckdb
import polars as pl

import pipelines.config as cfg
from pipelines.lib.returns.context import load_register
from pipelines.lib.warehouse import replace_rows

KS4_PHASES = {"secondary", "all-through", "special", "alternative provision"}

MISSING_RETURNS_DDL = """
create table if not exists raw.missing_returns (
    academy_urn varchar not null,
    academy_name varchar,
    phase varchar,
    key_stages varchar not null,      -- KS4 | 16-18 | KS4 and 16-18: the leavers the academy returns
    leaving_year varchar not null,
    round varchar not null,
    due_date date not null,
    days_overdue integer not null,
    last_status varchar,              -- rejected when only rejected files arrived; null when nothing arrived
    last_submitted_at timestamp,
    as_of date not null
)
"""

SCHEMA = {
    "academy_urn": pl.Utf8, "academy_name": pl.Utf8, "phase": pl.Utf8, "key_stages": pl.Utf8,
    "leaving_year": pl.Utf8, "round": pl.Utf8, "due_date": pl.Date, "days_overdue": pl.Int32,
    "last_status": pl.Utf8, "last_submitted_at": pl.Datetime("us"), "as_of": pl.Date,
}


def key_stages(phase: str, has_sixth_form: str) -> str | None:
    """The leavers an academy returns, from its register phase and sixth form."""
    phase = (phase or "").strip().lower()
    ks4 = phase in KS4_PHASES
    post16 = phase == "16-19" or str(has_sixth_form).strip().upper() in ("Y", "YES", "TRUE", "1")
    if ks4 and post16:
        return "KS4 and 16-18"
    return "KS4" if ks4 else ("16-18" if post16 else None)


def current_leaving_years(today: date) -> list[str]:
    """The leaving year in progress and the one before (whose R3 falls in this academic year)."""
    start = today.year if today.month >= 9 else today.year - 1
    return [cfg.leaving_year_label(start - 1), cfg.leaving_year_label(start)]


def _as_datetime(v) -> datetime | None:
    if v is None or isinstance(v, datetime):
        return v
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day)
    try:
        return datetime.fromisoformat(str(v))
    except ValueError:
        return None


def _joined(text: str | None) -> date | None:
    try:
        return date.fromisoformat(str(text).strip()) if text else None
    except ValueError:
        return None


def missing_returns(register: dict[str, dict], submissions: list[dict], rounds: list[cfg.Round],
                    leaving_years: list[str], today: date) -> pl.DataFrame:
    """Academies expected to return (phase, joined by the due date) with no accepted file, rounds past due.

    submissions: dicts with academy_urn, leaving_year, round, status, submitted_at (any order).
    """
    accepted = {(s["academy_urn"], s["leaving_year"], s["round"]) for s in submissions
                if s["status"] in ("accepted", "accepted_with_warnings", "superseded")}
    last: dict[tuple, dict] = {}
    for s in submissions:
        k = (s["academy_urn"], s["leaving_year"], s["round"])
        if k not in last or str(s["submitted_at"]) > str(last[k]["submitted_at"]):
            last[k] = s
    rows = []
    for year in sorted(set(leaving_years)):
        for r in rounds:
            due = r.due_date(year)
            if due >= today:
                continue
            for urn, reg in sorted(register.items()):
                ks = key_stages(reg.get("phase", ""), reg.get("has_sixth_form", ""))
                joined = _joined(reg.get("joined_trust"))
                if ks is None or (joined is not None and joined > due):
                    continue
                k = (urn, year, r.id)
                if k in accepted:
                    continue
                prev = last.get(k)
                rows.append({
                    "academy_urn": urn, "academy_name": reg.get("name"), "phase": reg.get("phase"),
                    "key_stages": ks, "leaving_year": year, "round": r.id, "due_date": due,
                    "days_overdue": (today - due).days,
                    "last_status": prev["status"] if prev else None,
                    "last_submitted_at": _as_datetime(prev["submitted_at"]) if prev else None, "as_of": today,
                })
    return pl.DataFrame(rows, schema=SCHEMA) if rows else pl.DataFrame(schema=SCHEMA)


def refresh_missing_returns(p: cfg.Paths, con: duckdb.DuckDBPyConnection, today: date) -> pl.DataFrame:
    """Recompute raw.missing_returns from the register and raw.return_submissions."""
    from pipelines.lib.returns.ingest import ensure_return_tables

    ensure_return_tables(con)
    con.execute(MISSING_RETURNS_DDL)
    subs = con.execute(
        "select academy_urn, leaving_year, round, status, submitted_at from raw.return_submissions").fetchall()
    submissions = [dict(zip(("academy_urn", "leaving_year", "round", "status", "submitted_at"), r)) for r in subs]
    years = sorted({s["leaving_year"] for s in submissions} | set(current_leaving_years(today)))
    frame = missing_returns(load_register(p.academies_csv), submissions, cfg.rounds(), years, today)
    replace_rows(con, "raw.missing_returns", frame, "true", [])
    return frame


