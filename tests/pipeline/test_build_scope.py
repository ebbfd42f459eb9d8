"""Which leaving years a run rebuilds (dbt models kept per leaving year, macros/by_leaving_year.sql)."""
from __future__ import annotations

from pipelines.runner import RETURNS_DOWNSTREAM, leaving_years_to_rebuild

BUILT = {"2024-25/R1": "a", "2024-25/R3": "b", "2025-26/R1": "c", "2025-26/R3": "d"}
RETURNS = set(RETURNS_DOWNSTREAM)


def test_only_the_years_whose_loads_changed():
    now = {**BUILT, "2025-26/R3": "d2"}
    assert leaving_years_to_rebuild(RETURNS, now, BUILT) == ["2025-26"]
    # a new partition, a vanished one, and a new day (dated models) alongside
    now = {**BUILT, "2026-27/R1": "e"}
    del now["2024-25/R1"]
    assert leaving_years_to_rebuild(RETURNS | {"return_status", "missing_returns"}, now, BUILT) == \
        ["2024-25", "2026-27"]


def test_every_year_when_anything_else_every_year_reads_changed():
    now = {**BUILT, "2025-26/R3": "d2"}
    for other in ("*", "academies", "rounds", "benchmark_measures_raw", "fsq_responses", "goals"):
        assert leaving_years_to_rebuild(RETURNS | {other}, now, BUILT) is None, other
    assert leaving_years_to_rebuild(RETURNS, now, None) is None          # no earlier successful build
    assert leaving_years_to_rebuild(RETURNS, BUILT, BUILT) is None       # returns dirty, loads the same: all
    assert leaving_years_to_rebuild(set(), now, BUILT) is None
