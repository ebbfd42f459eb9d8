"""Helpers for mart tests: a temp warehouse with raw tables, pupil rows, and a real dbt build."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines.config import DBT_PROJECT_DIR, PROJECT_ROOT
from pipelines.lib.warehouse import RETURN_COLUMNS, ensure_raw_tables

DBT = Path(sys.executable).parent / "dbt"

DEFAULT_ROUNDS = [
    ("R1", "intended", "Autumn intended", 1, "12-15", 0),
    ("R2", "intended", "Summer intended", 2, "05-31", 1),
    ("R3", "actual", "Actual destination", 3, "11-30", 1),
]

RETURN_SCHEMA = {
    "academy_urn": pl.Utf8, "leaving_year": pl.Utf8, "round": pl.Utf8, "upn": pl.Utf8,
    "upn_is_temporary": pl.Boolean, "year_group": pl.Int32, "sex": pl.Utf8,
    "disadvantaged": pl.Boolean, "sen_provision": pl.Utf8, "destination_code": pl.Utf8,
    "fsm_eligible": pl.Boolean, "looked_after": pl.Boolean, "ethnicity": pl.Utf8,
    "route": pl.Utf8, "provider": pl.Utf8, "provider_id": pl.Utf8, "level": pl.Utf8,
    "september_guarantee": pl.Utf8, "consent_follow_up": pl.Boolean,
    "date_ascertained": pl.Date, "pupil_name": pl.Utf8, "source_file": pl.Utf8, "file_sha256": pl.Utf8,
    "source_row": pl.Int32,
}


def pupil_row(**kw) -> dict:
    """A raw.destination_returns row with sensible defaults for the columns not given."""
    row = {c: None for c in RETURN_COLUMNS}
    row.update(upn_is_temporary=False, year_group=11, sex="F", disadvantaged=False,
               sen_provision="N", round="R3", leaving_year="2024-25",
               source_file="test.csv", file_sha256="0" * 64)
    row.update(kw)
    if row.get("source_row") is None:
        row["source_row"] = 1
    return row


def load_raw(warehouse: Path, pupils: list[dict], academies: list[dict],
             rounds: list[tuple] = DEFAULT_ROUNDS, goals: pl.DataFrame | None = None,
             neet_risk_weights: pl.DataFrame | None = None) -> None:
    """Create the raw tables in `warehouse` and fill them (replacing what was there)."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse))
    try:
        ensure_raw_tables(con)
        for t in ("destination_returns", "academies", "rounds"):
            con.execute(f"delete from raw.{t}")
        frame = pl.DataFrame(pupils, schema=RETURN_SCHEMA) if pupils else None
        if frame is not None:
            con.register("_p", frame.to_arrow())
            cols = ", ".join(RETURN_COLUMNS)
            con.execute(f"insert into raw.destination_returns ({cols}) select {cols} from _p")
        acad = pl.DataFrame(academies, schema={
            "urn": pl.Utf8, "name": pl.Utf8, "la_code": pl.Utf8, "phase": pl.Utf8,
            "has_sixth_form": pl.Boolean, "joined_trust": pl.Date})
        con.register("_a", acad.to_arrow())
        con.execute("insert into raw.academies select * from _a")
        con.executemany("insert into raw.rounds values (?, ?, ?, ?, ?, ?)", list(rounds))
        # the FSQ / Compass raw tables (empty until load_careers): every published mart comes from
        # one disclosure decision that includes the FSQ marts
        from pipelines.lib.careers.landing import config_tables, ensure_careers_tables, load_fsq_config
        from pipelines.lib.warehouse import replace_table
        ensure_careers_tables(con)
        items, bands = config_tables(load_fsq_config())
        replace_table(con, "raw.fsq_items", items)
        replace_table(con, "raw.fsq_readiness_bands", bands)
        from pipelines.lib.goals import default_goals_frame, default_neet_risk_frame, write_config_tables
        write_config_tables(con, goals if goals is not None else default_goals_frame(),
                            neet_risk_weights if neet_risk_weights is not None else default_neet_risk_frame())
    finally:
        con.close()


def academy(urn: str, la_code: str = "352", joined: date = date(2015, 9, 1), name: str | None = None) -> dict:
    return {"urn": urn, "name": name or f"Academy {urn}", "la_code": la_code,
            "phase": "secondary", "has_sixth_form": True, "joined_trust": joined}


def run_dbt(warehouse: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run dbt against `warehouse` (a separate target path per warehouse, so tests never clash)."""
    env = {**os.environ, "DESTINATIONS_WAREHOUSE_PATH": str(warehouse), "DO_NOT_TRACK": "1"}
    target = warehouse.parent / "dbt_target"
    cmd = [str(DBT), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
           str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path", str(warehouse.parent / "dbt_logs")]
    proc = subprocess.run(cmd, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}")
    return proc


def query(warehouse: Path, sql: str, params: list | None = None) -> pl.DataFrame:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).pl()
    finally:
        con.close()



def truth_return_rows(demo_dir: Path) -> list[dict]:
    """raw.destination_returns rows from a generated trust's clean `_truth/pupils.parquet`."""
    truth = pl.read_parquet(demo_dir / "_truth" / "pupils.parquet")
    yn = lambda c: pl.col(c).cast(pl.Utf8).str.to_uppercase().is_in(["Y", "TRUE", "1"])  # noqa: E731
    frame = truth.with_columns(
        upn_is_temporary=pl.col("upn").str.slice(12, 1).str.contains("[A-Z]"),
        year_group=pl.col("year_group").cast(pl.Int32),
        disadvantaged=yn("disadvantaged") if truth["disadvantaged"].dtype != pl.Boolean else pl.col("disadvantaged"),
        fsm_eligible=yn("fsm_eligible") if truth["fsm_eligible"].dtype != pl.Boolean else pl.col("fsm_eligible"),
        looked_after=yn("looked_after") if truth["looked_after"].dtype != pl.Boolean else pl.col("looked_after"),
        consent_follow_up=yn("consent_follow_up") if truth["consent_follow_up"].dtype != pl.Boolean
        else pl.col("consent_follow_up"),
        destination_code=pl.col("destination_code").cast(pl.Utf8),
        level=pl.col("level").cast(pl.Utf8),
        provider_id=pl.col("provider_id").cast(pl.Utf8),
        date_ascertained=pl.col("date_ascertained").cast(pl.Utf8).str.to_date(strict=False),
        file_sha256=pl.lit("0" * 64),
        source_row=(pl.int_range(pl.len()).over("source_file") + 2).cast(pl.Int32),
    ).filter(pl.col("destination_code").is_not_null())
    if "pupil_name" not in frame.columns:   # the returns carry the generator's names; the truth file does not
        from pipelines.lib.generate.trust import pupil_names
        frame = frame.with_columns(pupil_names(frame["upn"]))
    return frame.select(list(RETURN_SCHEMA)).cast(RETURN_SCHEMA).to_dicts()


def load_careers(warehouse: Path, demo_dir: Path) -> None:
    """raw FSQ / Compass tables from a generated trust's raw/fsq and raw/compass (the real ingest);
    empty tables when the trust has none. The published marts all come from one disclosure
    decision that includes the FSQ marts, so every mart build needs them."""
    import pipelines.config as cfg
    from pipelines.lib.careers.landing import land

    con = duckdb.connect(str(warehouse))
    try:
        paths = cfg.paths(demo_dir)
        land("fsq", paths, con)
        land("compass", paths, con)
    finally:
        con.close()


def register_rows(demo_dir: Path) -> list[dict]:
    reg = pl.read_csv(demo_dir / "raw" / "academies.csv", infer_schema_length=0)
    return [{"urn": r["urn"], "name": r["name"], "la_code": r["la_code"], "phase": r["phase"],
             "has_sixth_form": r["has_sixth_form"].upper().startswith("Y"),
             "joined_trust": date.fromisoformat(r["joined_trust"])} for r in reg.to_dicts()]


def load_benchmarks(warehouse: Path, root: Path | None = None) -> None:
    """raw.benchmark_measures_raw and friends from the benchmarks ingest (seed + files under root)."""
    from pipelines.lib.benchmarks import scan_benchmarks
    from pipelines.lib.warehouse import replace_table
    root = root or warehouse.parent / "no_benchmark_files"
    root.mkdir(parents=True, exist_ok=True)
    result = scan_benchmarks(root)
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists raw")
        replace_table(con, "raw.benchmark_measures_raw", result.measures)
        for name, table in result.tables.items():
            replace_table(con, f"raw.{name}", table)
    finally:
        con.close()


# every model of the warehouse issue (issue 5) and what it needs
MART_SELECTION = ("+destination_measures_published +destination_reconciliation_rates_published "
                  "+destination_reconciliation_flows_published +neet_not_known_published "
                  "+destination_gaps +destination_gaps_published +goal_progress_published +neet_risk_rates_published "
                  "+neet_risk_pupils +destination_routes_published +destination_providers_published "
                  "+fsq_destination_rates_published +fsq_construct_scores_published +public_destination_statement")


class _Returned(Exception):
    pass


def _dbt_return(value):      # dbt's return(): the macro's value, not its text
    raise _Returned(value)


def _dbt_raise(message):
    raise ValueError(message)


def dbt_macros(file_name: str):
    """The macros of dbt_project/macros/<file_name>, rendered by plain Jinja (dbt's `do` and
    `return`; a compile error raises ValueError). Call one with macro_value."""
    import jinja2

    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    env.globals.update({"return": _dbt_return,
                        "exceptions": type("E", (), {"raise_compiler_error": staticmethod(_dbt_raise)})})
    return env.from_string((DBT_PROJECT_DIR / "macros" / file_name).read_text()).module


def macro_value(macro, *args):
    """What a dbt macro returns (its return() value)."""
    try:
        macro(*args)
    except _Returned as got:
        return got.args[0]
    raise AssertionError(f"{macro} returned nothing")


def partition_label(leaving_year: str) -> str:
    """The engine partition of a leaving year as dbt names it (macro td_partition_label)."""
    return macro_value(dbt_macros("suppression.sql").td_partition_label, leaving_year)
