"""Session fixture: a generated trust loaded into a temp warehouse and every mart built.

Four academies and two leaving years (plus the current one): every mart now comes from the
disclosure engine, and the harness attacks it as a director and as every academy user, so the
trust is kept small enough for the test-suite budget while still having academies to difference
against the trust (the demo and large trusts are measured by bench/bench_disclosure.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.marts.helpers import (MART_SELECTION, load_benchmarks, load_careers, load_raw, register_rows, run_dbt,
                                 truth_return_rows)


ACADEMIES, YEARS = 4, 2


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory) -> tuple[Path, Path]:
    from pipelines.lib.generate import generate_trust

    root = tmp_path_factory.mktemp("marts_demo")
    demo = root / "demo"
    generate_trust(demo, academies=ACADEMIES, years=YEARS)
    warehouse = root / "warehouse" / "warehouse.duckdb"
    load_raw(warehouse, truth_return_rows(demo), register_rows(demo))
    load_benchmarks(warehouse)
    load_careers(warehouse, demo)
    run_dbt(warehouse, "build", "--select", MART_SELECTION)
    return warehouse, demo
