"""Academy register and collection rounds -> raw tables."""

import dagster as dg
import polars as pl

from pipelines.config import rounds
from pipelines.defs.resources import WarehouseResource
from pipelines.lib.register import read_register
from pipelines.lib.warehouse import ensure_raw_tables, replace_rows


@dg.asset(group_name="ingest", kinds={"duckdb"}, pool="duckdb_warehouse",
          description="The academy register raw/academies.csv, checked (URN, LA, phase, joining date).")
def academies(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    register = read_register(warehouse.paths.academies_csv)  # a bad register fails here; table untouched
    with warehouse.connect() as con:
        ensure_raw_tables(con)
        replace_rows(con, "raw.academies", register, "true", [])
    return dg.MaterializeResult(metadata={"academies": register.height,
                                          "phases": dg.MetadataValue.json(
                                              register["phase"].value_counts().to_dicts())})


@dg.asset(name="rounds", group_name="ingest", kinds={"duckdb"}, pool="duckdb_warehouse",
          description="Collection rounds from config/trust.yaml (R1, R2 intended; R3 actual; any follow-ups).")
def rounds_config(warehouse: WarehouseResource) -> dg.MaterializeResult:
    frame = pl.DataFrame(
        [{"round": r.id, "round_kind": r.kind, "round_label": r.label, "round_order": i,
          "due_month_day": r.due, "due_year_offset": r.due_year_offset}
         for i, r in enumerate(rounds(), start=1)],
        schema={"round": pl.Utf8, "round_kind": pl.Utf8, "round_label": pl.Utf8,
                "round_order": pl.Int32, "due_month_day": pl.Utf8, "due_year_offset": pl.Int32})
    with warehouse.connect() as con:
        ensure_raw_tables(con)
        replace_rows(con, "raw.rounds", frame, "true", [])
    return dg.MaterializeResult(metadata={"rounds": frame.height})
