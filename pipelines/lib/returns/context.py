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


def max_invalid_row_share() -> float:
    return validation_settings()["max_invalid_row_share"]


def validation_settings() -> dict:
    """The trust's validation thresholds (config/trust.yaml `validation:`), for the load fingerprint."""
    v = cfg.trust_section("validation") or {}
    return {"max_invalid_row_share": float(v.get("max_invalid_row_share", 0.25)),
            "max_other_academy_share": float(v.get("max_other_academy_share", 0.1)),
            "min_share_of_current_return": float(v.get("min_share_of_current_return", 0.5)),
            "max_pupils_per_return": int(float(v.get("max_pupils_per_return", 10_000)))}


@contextmanager
def read_only_warehouse(p: cfg.Paths, attempts: int = 3, wait: float = 0.5) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A read-only connection, or None when there is no warehouse yet or a run is in progress.

    Held under a shared run lock (`reader_lock`): during a run the file is not opened at all, so a
    submit can never make the run's writes fail on DuckDB's file lock."""
    from pipelines.lib.warehouse import reader_lock
    con = None
    with reader_lock(p.warehouse_dir) as free:
        if free and p.warehouse.exists():
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


def _base_context(register: dict[str, dict], academy_urn: str, leaving_year: str, round_id: str,
                  other_academy_upns: dict[str, str] | None, settings: dict | None = None,
                  rounds: tuple | None = None) -> ValidationContext:
    """`settings` (validation_settings()) and `rounds` (round_info()): passed by a caller building many."""
    kind, prev, _ = rounds or round_info(round_id)
    v = settings or validation_settings()
    ctx = ValidationContext(
        academy_urn=academy_urn, leaving_year=leaving_year, round_id=round_id, round_kind=kind,
        max_invalid_row_share=v["max_invalid_row_share"],
        max_other_academy_share=v["max_other_academy_share"],
        min_share_of_current=v["min_share_of_current_return"],
        max_pupils=v["max_pupils_per_return"],
        academy_in_register=academy_urn in register,
        academy_name=(register.get(academy_urn) or {}).get("name"),
        previous_round_id=prev,
        other_academy_upns=other_academy_upns,
    )
    if not register:
        ctx.notes.append("the academy register raw/academies.csv is missing or unreadable")
    return ctx


def build_context(p: cfg.Paths, academy_urn: str, leaving_year: str, round_id: str,
                  con: duckdb.DuckDBPyConnection | None,
                  other_academy_upns: dict[str, str] | None = None,
                  use_warehouse_for_others: bool = True) -> ValidationContext:
    """Everything validation needs. `con` None means the warehouse is not available (checks skipped, noted)."""
    register = load_register(p.academies_csv)
    kind, prev, intended = round_info(round_id)
    ctx = _base_context(register, academy_urn, leaving_year, round_id, other_academy_upns)
    if con is None or not _has_table(con, "raw.destination_returns"):
        if con is None and p.warehouse.exists():
            from pipelines.lib.warehouse import read_problem
            problem = read_problem(p.warehouse)
            if problem in (None, "busy"):
                ctx.notes.append("the warehouse was busy, so the checks against other academies and earlier "
                                 "rounds will run when the pipeline loads this file")
            else:
                ctx.notes.append(f"the warehouse file could not be read ({problem}); the next `destinations run` "
                                 "moves it aside and rebuilds it from raw/, and runs the checks against other "
                                 "academies and earlier rounds when it loads this file")
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


class PartitionContext:
    """`build_context` for many academies of one leaving year x round, set-based: the register is read
    once and the earlier rounds of every academy asked for come from two queries, not three per file.
    The other academies' pupils are passed per file (the load replays files in order)."""

    def __init__(self, p: cfg.Paths, con: duckdb.DuckDBPyConnection, leaving_year: str, round_id: str,
                 academies: set[str]):
        self.register = load_register(p.academies_csv)
        self.leaving_year, self.round_id = leaving_year, round_id
        self.settings = validation_settings()
        self.rounds = round_info(round_id)
        kind, prev, intended = self.rounds
        self.previous: dict[str, dict[str, str]] = {}
        self.intended: dict[str, set[str]] = {}
        self.has_previous = bool(prev)
        self.has_intended = kind == "actual" and bool(intended)
        urns = sorted(academies)
        if not urns or not _has_table(con, "raw.destination_returns"):
            return
        marks = ", ".join("?" for _ in urns)
        if prev:
            for urn, upn, code in con.execute(
                    f"select academy_urn, upn, destination_code from raw.destination_returns "
                    f"where leaving_year = ? and round = ? and academy_urn in ({marks})",
                    [leaving_year, prev, *urns]).fetchall():
                self.previous.setdefault(urn, {})[upn] = code
        if self.has_intended:
            rmarks = ", ".join("?" for _ in intended)
            for urn, upn in con.execute(
                    f"select distinct academy_urn, upn from raw.destination_returns where leaving_year = ? "
                    f"and round in ({rmarks}) and academy_urn in ({marks})",
                    [leaving_year, *intended, *urns]).fetchall():
                self.intended.setdefault(urn, set()).add(upn)

    def for_academy(self, academy_urn: str, other_academy_upns: dict[str, str]) -> ValidationContext:
        ctx = _base_context(self.register, academy_urn, self.leaving_year, self.round_id, other_academy_upns,
                            self.settings, self.rounds)
        if self.has_previous:
            ctx.previous_round = self.previous.get(academy_urn) or None
        if self.has_intended:
            ctx.intended_upns = self.intended.get(academy_urn) or None
        return ctx


def earlier_rounds_key(con: duckdb.DuckDBPyConnection, leaving_year: str, round_id: str) -> dict[str, str]:
    """academy -> digest of what validation reads from its earlier rounds (previous round's UPNs and
    codes; intended rounds' UPNs for an actual round). A file is re-checked when this changes."""
    kind, prev, intended = round_info(round_id)
    rounds = sorted({r for r in [prev, *(intended if kind == "actual" else [])] if r})
    if not rounds or not _has_table(con, "raw.destination_returns"):
        return {}
    marks = ", ".join("?" for _ in rounds)
    return dict(con.execute(
        f"select academy_urn, md5(string_agg(round || ':' || upn || ':' || destination_code, ',' "
        f"order by round, upn, destination_code)) from raw.destination_returns "
        f"where leaving_year = ? and round in ({marks}) group by academy_urn",
        [leaving_year, *rounds]).fetchall())
