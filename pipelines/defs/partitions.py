"""Partitions shared by the ingest assets: leaving year x collection round.

The leaving years come from the trust configuration (`first_leaving_year` in config/trust.yaml,
default 2010-11) up to the year after the current one: `submit` accepts exactly these years.
"""
from __future__ import annotations

from datetime import date

import dagster as dg

from pipelines.config import leaving_years as _configured_years
from pipelines.config import round_ids


def leaving_years(today: date | None = None) -> list[str]:
    """The configured first leaving year up to the leaving year after the current academic year."""
    return _configured_years(today)


leaving_year_partitions = dg.StaticPartitionsDefinition(leaving_years())
round_partitions = dg.StaticPartitionsDefinition(round_ids())
return_partitions = dg.MultiPartitionsDefinition(
    {"leaving_year": leaving_year_partitions, "round": round_partitions}
)


def return_partition_key(leaving_year: str, round_id: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"leaving_year": leaving_year, "round": round_id})
