"""Session fixture: a generated demo trust loaded into a temp warehouse and every mart built."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.marts.helpers import (MART_SELECTION, load_benchmarks, load_careers, load_raw, register_rows, run_dbt,
                                 truth_return_rows)


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory) -> tuple[Path, Path]:
    from pipelines.lib.generate import generate_trust

    root = tmp_path_factory.mktemp("marts_demo")
    demo = root / "demo"
    generate_trust(demo)
    warehouse = root / "warehouse" / "warehouse.duckdb"
    load_raw(warehouse, truth_return_rows(demo), register_rows(demo))
    load_benchmarks(warehouse)
    load_careers(warehouse, demo)
    run_dbt(warehouse, "build", "--select", MART_SELECTION)
    return warehouse, demo
