"""Great Expectations suites on the warehouse marts as blocking Dagster asset checks.

Each `expectations/marts_<mart>.json` is a GX 1.x suite for the dbt model `<mart>` (asset key
[<mart>]); the check reads `marts.<mart>` from DuckDB and evaluates the suite over the whole
frame (pipelines.lib.returns.gx_suite.evaluate_frame: the same verdicts as GX, without importing it). Blocking: a failure (e.g. a published cohort of 1-5) stops publishing.
Suites exist for `_published` marts only: an independent check, outside the SQL that
suppresses, at the serving boundary. Row rules on the other marts are dbt tests (td_checks:
one node and one query per model).
"""
from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from pipelines.config import EXPECTATIONS_DIR
from pipelines.defs.resources import WarehouseResource

PREFIX = "marts_"


def suite_files(directory: Path = EXPECTATIONS_DIR) -> dict[str, Path]:
    """mart name -> suite file."""
    return {p.stem[len(PREFIX):]: p for p in sorted(directory.glob(f"{PREFIX}*.json"))}


def validate_mart(frame, payload: dict) -> tuple[bool, int, list[dict]]:
    """Validate a frame (polars or pandas) against a suite payload; (success, evaluated, failures).

    The suite's expectation types are evaluated as polars expressions (no Great Expectations
    import, ~7 CPU-s, in a run); any other type still goes to GX. tests/marts/test_gx_suites.py
    holds the verdicts and counts equal to GX's own."""
    import polars as pl

    from pipelines.lib.returns.gx_suite import evaluate_frame

    if not isinstance(frame, pl.DataFrame):
        frame = pl.from_pandas(frame)
    result = evaluate_frame(frame, payload)
    failures = [{"expectation": f.expectation, "column": f.column, "rule": f.rule,
                 "unexpected_count": f.unexpected_count, "examples": [str(x) for x in f.examples[:5]],
                 "exception": f.exception} for f in result.failures]
    return result.success, result.evaluated, failures


def _markdown(failures: list[dict]) -> str:
    if not failures:
        return "all expectations met"
    lines = ["| expectation | column | rule | failing | examples |", "|---|---|---|---|---|"]
    for f in failures:
        lines.append(f"| {f['expectation']} | {f['column'] or ''} | {f['rule']} | {f['unexpected_count']} | "
                     f"{', '.join(f['examples']) or (f['exception'] or '')} |")
    return "\n".join(lines)


def check_mart(con, mart: str, suite_path: Path) -> dg.AssetCheckResult:
    """The suite at suite_path over marts.<mart>, read on the warehouse connection con."""
    payload = json.loads(suite_path.read_text(encoding="utf-8"))
    frame = con.execute(f'select * from marts."{mart}"').pl()
    ok, evaluated, failures = validate_mart(frame, payload)
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey([mart]), check_name=f"{mart}_expectations",
        passed=ok, severity=dg.AssetCheckSeverity.ERROR,
        metadata={"rows": len(frame), "evaluated": evaluated, "failed": len(failures),
                  "suite": str(suite_path.name), "failures": dg.MetadataValue.md(_markdown(failures))})


def _make_checks(suites: dict[str, Path]) -> dg.AssetChecksDefinition:
    """Every suite's check in one step (one op, one warehouse connection): a step per mart cost
    ~0.2 s of Dagster overhead each on the path to the serving snapshot. Each check keeps its
    own name, asset and blocking; a run that selects some marts evaluates only theirs."""
    specs = [dg.AssetCheckSpec(name=f"{m}_expectations", asset=dg.AssetKey([m]), blocking=True,
                               description=f"Great Expectations suite expectations/{p.name} on marts.{m}.")
             for m, p in suites.items()]

    @dg.multi_asset_check(specs=specs, can_subset=True, name="marts_expectations")
    def _checks(context, warehouse: WarehouseResource):
        selected = {k.asset_key.path[-1] for k in context.selected_asset_check_keys}
        with warehouse.connect() as con:
            for mart, path in suites.items():
                if mart in selected:
                    yield check_mart(con, mart, path)
    return _checks


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(asset_checks=[_make_checks(suite_files())])
