"""Partitions shared by the ingest assets: leaving year x collection round."""
from __future__ import annotations

from datetime import date

import dagster as dg

from pipelines.config import leaving_year_label, round_ids

FIRST_LEAVING_YEAR = 2018


def leaving_years(today: date | None = None) -> list[str]:
    """2018-19 up to the leaving year after the current academic year."""
    today = today or date.today()
    current_start = today.year if today.month >= 9 else today.year - 1
    return [leaving_year_label(y) for y in range(FIRST_LEAVING_YEAR, current_start + 2)]


leaving_year_partitions = dg.StaticPartitionsDefinition(leaving_years())
round_partitions = dg.StaticPartitionsDefinition(round_ids())
return_partitions = dg.MultiPartitionsDefinition(
    {"leaving_year": leaving_year_partitions, "round": round_partitions}
)


def return_partition_key(leaving_year: str, round_id: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"leaving_year": leaving_year, "round": round_id})
