"""Trust configuration the marts read: stereotype-countering goals (config/goals.yaml -> raw.goals)
and NEET-risk weights (config/neet_risk.yaml -> raw.neet_risk_weights). Reloaded on every run;
a configuration the marts cannot use fails here with a message saying what to fix."""
import dagster as dg

from pipelines.defs.resources import WarehouseResource
from pipelines.lib.goals import default_goals_frame, default_neet_risk_frame, write_config_tables


@dg.asset(name="goals", group_name="ingest", kinds={"duckdb"}, pool="duckdb_warehouse",
          description="Stereotype-countering goals from config/goals.yaml (population, routes, measure, "
                      "target, national comparator and source), one row per goal.")
def goals_config(warehouse: WarehouseResource) -> dg.MaterializeResult:
    frame = default_goals_frame()
    with warehouse.connect() as con:
        write_config_tables(con, goals=frame)
    return dg.MaterializeResult(metadata={"goals": frame.height,
                                          "ids": dg.MetadataValue.json(frame["goal_id"].to_list())})


@dg.asset(name="neet_risk_weights", group_name="ingest", kinds={"duckdb"}, pool="duckdb_warehouse",
          description="NEET-risk factor weights and flag threshold from config/neet_risk.yaml.")
def neet_risk_weights_config(warehouse: WarehouseResource) -> dg.MaterializeResult:
    frame = default_neet_risk_frame()
    with warehouse.connect() as con:
        write_config_tables(con, neet_risk=frame)
    return dg.MaterializeResult(metadata={
        "weights": dg.MetadataValue.json(dict(zip(frame["factor"].to_list(), frame["weight"].to_list()))),
        "flag_threshold": float(frame["flag_threshold"][0]) if frame.height else None})
