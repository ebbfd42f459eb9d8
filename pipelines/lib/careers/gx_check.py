"""Run an expectation suite from expectations/<name>.json on a pandas frame (GX 1.x, ephemeral).

Each expectation carries its feedback in `meta` (rule, severity, message, fix); failures come
back as (meta, index values of the failing rows) so the caller can word row-level problems.
Great Expectations is imported lazily: it is slow to import.
"""
from __future__ import annotations

import json
from functools import lru_cache

import pipelines.config as cfg


@lru_cache(maxsize=None)
def load_suite_payload(name: str) -> str:
    return (cfg.EXPECTATIONS_DIR / f"{name}.json").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _batch_definition():
    import great_expectations as gx

    ctx = gx.get_context(mode="ephemeral")
    try:  # no progress bars in logs
        from great_expectations.data_context.types.base import ProgressBarsConfig
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # noqa: BLE001
        pass
    asset = ctx.data_sources.add_pandas("careers").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole")


def run_suite(name: str, frame, parameters: dict | None = None) -> list[tuple[dict, list, str | None]]:
    """Validate `frame` (pandas) against the suite; return [(meta, failing index values, exception)]
    for each failed expectation. An expectation that could not run (e.g. a missing column) is a
    failure with its exception text."""
    import great_expectations as gx

    payload = json.loads(load_suite_payload(name))
    suite = gx.ExpectationSuite(name=payload["name"], expectations=payload["expectations"],
                                meta=payload.get("meta"), notes=payload.get("notes"))
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format="COMPLETE", expectation_parameters=parameters or {})
    failed = []
    for r in result.results:
        if r.success:
            continue
        exc = (r.exception_info or {}).get("exception_message") if r.exception_info else None
        failed.append((dict(r.expectation_config.meta or {}), list(r.result.get("unexpected_index_list") or []),
                       exc))
    return failed
