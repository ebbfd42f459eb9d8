"""destination_measures reproduces DfE's published KS4 destination percentages.

Pupil-level R3 returns are rebuilt from real rows of DfE's school-level KS4 destinations file
(each count becomes that many pupils with the matching code and disadvantage flag), loaded
into raw.destination_returns of a temporary warehouse, `dbt build` runs for real, and every
published Total / Disadvantaged / Not disadvantaged percentage must come back to DfE's
whole-percent rounding.

Run it on other schools: TD_KS4_REPRO_URNS="123456,234567" (or "all"), and on another file of
the same layout: TD_KS4_REPRO_FILE=path/to/england_ks4-pupdest.csv.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.marts.helpers import PROJECT_ROOT, academy, load_raw, pupil_row, query, run_dbt
from tests.marts.ks4_reproduction import dfe_round, raw_return_rows, read_rows, school_from_row

DEFAULT_FILE = PROJECT_ROOT / ".." / "shared" / "research" / "data" / "calvinchankf__uk_schools" / \
    "data_2024-2025" / "england_ks4-pupdest.csv"
# a handful of real schools: mainstream with every destination present, a sponsored academy with
# many disadvantaged pupils, a special school and one whose disadvantage split DfE suppressed
DEFAULT_URNS = ["140802", "143895", "104255", "135651", "146901", "140997", "142711"]
LEAVING_YEAR = "2022-23"


def _source() -> Path:
    return Path(os.environ.get("TD_KS4_REPRO_FILE") or DEFAULT_FILE)


def _urns() -> list[str] | None:
    env = os.environ.get("TD_KS4_REPRO_URNS", "").strip()
    if env.lower() == "all":
        return None
    return [u.strip() for u in env.split(",") if u.strip()] if env else DEFAULT_URNS


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    src = _source()
    if not src.exists():
        pytest.skip(f"DfE file not available: {src}")
    rows = [r for r in read_rows(src, _urns()) if (r.get("URN") or "").strip()]
    schools = [s for s in (school_from_row(r) for r in rows) if s is not None and s.pupils]
    assert schools, "no school rows could be rebuilt"
    warehouse = tmp_path_factory.mktemp("ks4repro") / "warehouse.duckdb"
    load_raw(warehouse, raw_return_rows(schools, LEAVING_YEAR, pupil_row),
             [academy(s.urn, name=s.name) for s in schools])
    run_dbt(warehouse, "build", "--select", "+destination_measures")
    return warehouse, schools


def test_every_published_percentage_is_reproduced(rebuilt):
    warehouse, schools = rebuilt
    got = query(warehouse, """
        select academy_urn, breakdown_topic, breakdown, * exclude (academy_urn, breakdown_topic, breakdown)
        from marts.destination_measures
        where level = 'academy' and round = 'R3' and key_stage = 'KS4'
          and breakdown_topic in ('Total', 'Disadvantage')""")
    index = {(r["academy_urn"], r["breakdown_topic"], r["breakdown"]): r for r in got.iter_rows(named=True)}
    mismatches, compared = [], 0
    for s in schools:
        for topic, breakdown, column, published in s.expected:
            row = index.get((s.urn, topic, breakdown))
            value = None if row is None else row[column]
            compared += 1
            if value is None or dfe_round(value) != published:
                mismatches.append((s.urn, breakdown, column, published, value))
    assert compared >= 10 * len(schools)
    assert not mismatches, f"{len(mismatches)} of {compared} differ, e.g. {mismatches[:10]}"


def test_cohorts_match_the_file(rebuilt):
    warehouse, schools = rebuilt
    got = query(warehouse, """
        select academy_urn, breakdown, cohort from marts.destination_measures
        where level = 'academy' and round = 'R3' and breakdown_topic in ('Total', 'Disadvantage')""")
    cohort = {(r["academy_urn"], r["breakdown"]): r["cohort"] for r in got.iter_rows(named=True)}
    for s in schools:
        assert cohort[(s.urn, "Total")] == len(s.pupils)
        if len(s.rebuilt_groups) == 3:
            n_dis = sum(p["disadvantaged"] for p in s.pupils)
            assert cohort[(s.urn, "Disadvantaged")] == n_dis
            assert cohort[(s.urn, "Not disadvantaged")] == len(s.pupils) - n_dis


def test_the_handful_covers_both_breakdowns(rebuilt):
    _, schools = rebuilt
    if _urns() != DEFAULT_URNS:
        pytest.skip("custom selection")
    assert len(schools) == len(DEFAULT_URNS)
    assert all(len(s.rebuilt_groups) == 3 for s in schools)
    assert sum(1 for s in schools for e in s.expected if e[0] == "Disadvantage") > 100
