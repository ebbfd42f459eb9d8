"""What validation needs from outside the file: the academy register, rounds, earlier returns."""
from __future__ import annotations

import csv
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

import pipelines.config as cfg
from pipelines.lib.returns.validate import ValidationContext


def load_register(path: Path) -> dict[str, dict]:
    """urn -> register row (raw/academies.csv). Empty if the file is missing or unreadable."""
    if not path.exists():
        return {}
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return {str(r.get("urn", "")).strip(): r for r in csv.DictReader(fh) if r.get("urn")}
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}


def round_info(round_id: str) -> tuple[str, str | None, list[str]]:
    """(kind, previous round id in config order, ids of the intended rounds)."""
    rs = cfg.rounds()
    ids = [r.id for r in rs]
    kind = next((r.kind for r in rs if r.id == round_id), "unknown")
    i = ids.index(round_id) if round_id in ids else -1
    prev = ids[i - 1] if i > 0 else None
    intended = [r.id for r in rs if r.kind == "intended"]
    return kind, prev, intended


def _validation(key: str, default: float) -> float:
    return float((cfg.trust_config().get("validation") or {}).get(key, default))


def max_invalid_row_share() -> float:
    return _validation("max_invalid_row_share", 0.25)


def validation_settings() -> dict:
    """The trust's validation thresholds (config/trust.yaml `validation:`), for the load fingerprint."""
    return {"max_invalid_row_share": max_invalid_row_share(),
            "max_other_academy_share": _validation("max_other_academy_share", 0.1),
            "min_share_of_current_return": _validation("min_share_of_current_return", 0.5),
            "max_pupils_per_return": int(_validation("max_pupils_per_return", 10_000))}


@contextmanager
def read_only_warehouse(p: cfg.Paths, attempts: int = 3, wait: float = 0.5) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A read-only connection, or None when there is no warehouse yet or the pipeline holds the lock."""
    con = None
    if p.warehouse.exists():
        for k in range(attempts):
            try:
                con = duckdb.connect(str(p.warehouse), read_only=True)
                break
            except duckdb.Error:
                if k + 1 < attempts:
                    time.sleep(wait)
    try:
        yield con
    finally:
        if con is not None:
            con.close()


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name]).fetchone()[0])


def build_context(p: cfg.Paths, academy_urn: str, leaving_year: str, round_id: str,
                  con: duckdb.DuckDBPyConnection | None,
                  other_academy_upns: dict[str, str] | None = None,
                  use_warehouse_for_others: bool = True) -> ValidationContext:
    """Everything validation needs. `con` None means the warehouse is not available (checks skipped, noted)."""
    register = load_register(p.academies_csv)
    kind, prev, intended = round_info(round_id)
    ctx = ValidationContext(
        academy_urn=academy_urn, leaving_year=leaving_year, round_id=round_id, round_kind=kind,
        max_invalid_row_share=max_invalid_row_share(),
        max_other_academy_share=_validation("max_other_academy_share", 0.1),
        min_share_of_current=_validation("min_share_of_current_return", 0.5),
        max_pupils=int(_validation("max_pupils_per_return", 10_000)),
        academy_in_register=academy_urn in register,
        academy_name=(register.get(academy_urn) or {}).get("name"),
        previous_round_id=prev,
        other_academy_upns=other_academy_upns,
    )
    if not register:
        ctx.notes.append("the academy register raw/academies.csv is missing or unreadable")
    if con is None or not _has_table(con, "raw.destination_returns"):
        if con is None and p.warehouse.exists():
            ctx.notes.append("the warehouse was busy, so the checks against other academies and earlier "
                             "rounds will run when the pipeline loads this file")
        return ctx
    if use_warehouse_for_others and other_academy_upns is None:
        rows = con.execute(
            "select upn, min(academy_urn) from raw.destination_returns "
            "where leaving_year = ? and round = ? and academy_urn <> ? group by upn",
            [leaving_year, round_id, academy_urn]).fetchall()
        ctx.other_academy_upns = dict(rows)
    if prev:
        rows = con.execute(
            "select upn, destination_code from raw.destination_returns "
            "where leaving_year = ? and round = ? and academy_urn = ?",
            [leaving_year, prev, academy_urn]).fetchall()
        ctx.previous_round = dict(rows) if rows else None
    if kind == "actual" and intended:
        marks = ", ".join("?" for _ in intended)
        rows = con.execute(
            f"select distinct upn from raw.destination_returns where leaving_year = ? and academy_urn = ? "
            f"and round in ({marks})", [leaving_year, academy_urn, *intended]).fetchall()
        ctx.intended_upns = {r[0] for r in rows} if rows else None
    return ctx
