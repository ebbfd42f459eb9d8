"""Stereotype-countering goals (config/goals.yaml) and NEET-risk weights (config/neet_risk.yaml)
-> raw.goals and raw.neet_risk_weights, read by dbt as sources."""
from __future__ import annotations

import csv

import duckdb
import polars as pl

from pipelines.config import SEEDS_DIR, _load_yaml

MEASURES = ("population_share_of_route_entrants", "route_share_of_population")
DIRECTIONS = ("at_least", "at_most")
KEY_STAGES = ("KS4", "16-18", "all")
DESTINATION_GROUPS = ("education", "apprenticeship", "employment", "training")
NEET_RISK_FACTORS = (
    "intended_neet", "undecided", "intended_not_known", "no_september_guarantee_offer",
    "september_guarantee_not_recorded", "intended_other", "looked_after", "ehc_plan",
    "sen_support", "disadvantaged",
)

GOALS_SCHEMA = {
    "goal_id": pl.Utf8, "title": pl.Utf8, "population_sex": pl.Utf8,
    "population_disadvantaged": pl.Boolean, "population_sen_provision": pl.List(pl.Utf8),
    "routes": pl.List(pl.Utf8), "all_routes": pl.Boolean, "destination_groups": pl.List(pl.Utf8),
    "key_stage": pl.Utf8, "measure": pl.Utf8, "target_pct": pl.Float64, "direction": pl.Utf8,
    "comparator_pct": pl.Float64, "comparator_year": pl.Utf8, "comparator_description": pl.Utf8,
    "comparator_source": pl.Utf8,
}
NEET_RISK_SCHEMA = {"factor": pl.Utf8, "weight": pl.Float64, "reason": pl.Utf8, "flag_threshold": pl.Float64}


class ConfigError(ValueError):
    """A goals or NEET-risk configuration the pipeline cannot use; the message says how to fix it."""


def _routes() -> set[str]:
    with open(SEEDS_DIR / "routes.csv", encoding="utf-8") as fh:
        return {r["route"] for r in csv.DictReader(fh)}


def goals_frame(config: dict) -> pl.DataFrame:
    """Validate the goals configuration and flatten it to one row per goal."""
    known_routes = _routes()
    rows, seen = [], set()
    for i, g in enumerate(config.get("goals") or [], start=1):
        where = f"goals.yaml goal {i} ({g.get('id', 'no id')})"
        gid = str(g.get("id") or "").strip()
        if not gid or gid in seen:
            raise ConfigError(f"{where}: every goal needs a unique id")
        seen.add(gid)
        pop = g.get("population") or {}
        sex = str(pop.get("sex", "")).upper()[:1] or None
        if sex not in ("F", "M", None):
            raise ConfigError(f"{where}: population.sex must be F or M")
        sen = [str(s).upper() for s in (pop.get("sen_provision") or [])]
        if any(s not in ("N", "K", "E") for s in sen):
            raise ConfigError(f"{where}: population.sen_provision values must be N, K or E")
        routes = [str(r) for r in (g.get("routes") or [])]
        all_routes = [r.lower() for r in routes] == ["any"]
        if not routes or (not all_routes and any(r not in known_routes for r in routes)):
            bad = [r for r in routes if r not in known_routes]
            raise ConfigError(f"{where}: routes must be [any] or routes from seeds/routes.csv; unknown: {bad}")
        groups = [str(x) for x in (g.get("destination_groups") or DESTINATION_GROUPS)]
        if any(x not in DESTINATION_GROUPS for x in groups):
            raise ConfigError(f"{where}: destination_groups must be among {list(DESTINATION_GROUPS)}")
        measure = g.get("measure")
        if measure not in MEASURES:
            raise ConfigError(f"{where}: measure must be one of {list(MEASURES)}")
        key_stage = str(g.get("key_stage", "all"))
        if key_stage not in KEY_STAGES:
            raise ConfigError(f"{where}: key_stage must be one of {list(KEY_STAGES)}")
        direction = g.get("direction", "at_least")
        if direction not in DIRECTIONS:
            raise ConfigError(f"{where}: direction must be at_least or at_most")
        try:
            target = float(g["target_pct"])
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"{where}: target_pct must be a number 0-100") from None
        comp = g.get("comparator") or {}
        comp_pct = comp.get("value_pct")
        rows.append({
            "goal_id": gid, "title": str(g.get("title") or gid), "population_sex": sex,
            "population_disadvantaged": pop.get("disadvantaged"), "population_sen_provision": sen or None,
            "routes": [] if all_routes else routes, "all_routes": all_routes, "destination_groups": groups,
            "key_stage": key_stage, "measure": measure, "target_pct": target, "direction": direction,
            "comparator_pct": float(comp_pct) if comp_pct is not None else None,
            "comparator_year": str(comp["year"]) if comp.get("year") is not None else None,
            "comparator_description": comp.get("description"), "comparator_source": comp.get("source"),
        })
    return pl.DataFrame(rows, schema=GOALS_SCHEMA)


def neet_risk_frame(config: dict) -> pl.DataFrame:
    """Validate the NEET-risk weights; one row per factor (unlisted factors weigh 0)."""
    factors = config.get("factors") or {}
    unknown = sorted(set(factors) - set(NEET_RISK_FACTORS))
    if unknown:
        raise ConfigError(f"neet_risk.yaml: unknown factors {unknown}; known: {list(NEET_RISK_FACTORS)}")
    try:
        threshold = float(config.get("flag_threshold", 3))
    except (TypeError, ValueError):
        raise ConfigError("neet_risk.yaml: flag_threshold must be a number") from None
    rows = []
    for name in NEET_RISK_FACTORS:
        f = factors.get(name) or {}
        if not isinstance(f, dict):
            f = {"weight": f}
        try:
            weight = float(f.get("weight", 0))
        except (TypeError, ValueError):
            raise ConfigError(f"neet_risk.yaml: weight of {name} must be a number") from None
        rows.append({"factor": name, "weight": weight,
                     "reason": str(f.get("reason") or name.replace("_", " ")), "flag_threshold": threshold})
    return pl.DataFrame(rows, schema=NEET_RISK_SCHEMA)


def default_goals_frame() -> pl.DataFrame:
    return goals_frame(_load_yaml("goals.yaml"))


def default_neet_risk_frame() -> pl.DataFrame:
    return neet_risk_frame(_load_yaml("neet_risk.yaml"))


def _replace(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    from pipelines.lib.warehouse import replace_table
    con.execute("create schema if not exists raw")
    replace_table(con, table, frame)


def write_config_tables(con: duckdb.DuckDBPyConnection, goals: pl.DataFrame | None = None,
                        neet_risk: pl.DataFrame | None = None) -> None:
    """Write raw.goals and/or raw.neet_risk_weights (each swapped atomically)."""
    if goals is not None:
        _replace(con, "raw.goals", goals)
    if neet_risk is not None:
        _replace(con, "raw.neet_risk_weights", neet_risk)
