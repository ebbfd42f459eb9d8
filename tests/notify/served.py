"""A served return_status file as the pipeline publishes it: every column the serving contract
declares (reminders read through it), the ones a test does not care about left empty."""
from __future__ import annotations

import polars as pl

from pipelines.lib import serving_contract as contract


def served_return_status(rows: list[dict]) -> pl.DataFrame:
    cols = contract.USES["return_status"]
    return pl.DataFrame([{c: None for c in cols} | r for r in rows], infer_schema_length=None)
