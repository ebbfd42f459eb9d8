"""The published-mart suites run as one Dagster step (pipelines/defs/quality/marts_checks.py):
each check keeps its name, asset and blocking, a run evaluates only the selected marts' checks,
and a planted small count in a published mart still fails its check and blocks what follows."""
from __future__ import annotations

import dagster as dg
import duckdb

from pipelines.defs.quality.marts_checks import defs, suite_files
from pipelines.defs.resources import WarehouseResource


def test_one_step_keeps_every_check_name_and_blocking():
    checks = list(defs().asset_checks)
    assert len(checks) == 1
    specs = {k.name: k.asset_key.path[-1] for k in checks[0].check_keys}
    assert specs == {f"{m}_expectations": m for m in suite_files()}
    assert all(s.blocking for s in checks[0].check_specs)


def _run(tmp_path, rows: list[tuple]):
    @dg.asset(name="goal_progress_published")
    def mart(warehouse: WarehouseResource) -> None:
        with warehouse.connect() as con:
            con.execute("create schema if not exists marts")
            con.execute("create or replace table marts.goal_progress_published (suppression_status varchar, "
                        "numerator bigint, denominator bigint, share_pct double, comparator_source varchar)")
            con.executemany("insert into marts.goal_progress_published values (?, ?, ?, ?, ?)", rows)

    @dg.asset(deps=[mart])
    def after() -> None:
        pass

    return dg.materialize([mart, after, *defs().asset_checks], raise_on_error=False,
                          resources={"warehouse": WarehouseResource(data_dir=str(tmp_path))},
                          selection=dg.AssetSelection.assets("goal_progress_published", "after"))


def test_selected_mart_checked_and_a_small_count_blocks(tmp_path):
    good = _run(tmp_path / "good", [("shown", 12, 40, 30.0, "DfE 2024"), ("c", None, 9, None, "DfE 2024")])
    evals = good.get_asset_check_evaluations()
    assert [(e.check_name, e.passed) for e in evals] == [("goal_progress_published_expectations", True)]
    assert good.success and "after" in {k.path[-1] for k in _materialized(good)}

    bad = _run(tmp_path / "bad", [("shown", 2, 4, 50.0, "DfE 2024")])          # 2 of 4 printed
    evals = bad.get_asset_check_evaluations()
    assert [(e.check_name, e.passed) for e in evals] == [("goal_progress_published_expectations", False)]
    assert "denominator" in evals[0].metadata["failures"].value
    assert "after" not in {k.path[-1] for k in _materialized(bad)}             # blocked


def _materialized(result) -> list[dg.AssetKey]:
    return [e.asset_key for e in result.get_asset_materialization_events()]
