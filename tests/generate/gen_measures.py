"""Independent recomputation of headline rates from the generator's truth files."""
from __future__ import annotations

import csv
from pathlib import Path

import polars as pl

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
POSITIVE = ["education", "apprenticeship", "employment", "training"]


def code_groups() -> pl.DataFrame:
    with open(SEEDS / "destination_codes.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return pl.DataFrame({"destination_code": [r["destination_code"] for r in rows],
                         "group": [r["destination_group"] for r in rows],
                         "sub_group": [r["destination_sub_group"] for r in rows]})


def with_groups(df: pl.DataFrame) -> pl.DataFrame:
    return df.join(code_groups(), on="destination_code", how="left")


def pct(df: pl.DataFrame, cond: pl.Expr) -> float:
    return float(df.select(cond.cast(pl.Float64).mean() * 100).item())
