"""The one Great Expectations runner: a suite payload (expectations/<name>.json) on a pandas frame.

GX 1.x, one ephemeral context per process, imported lazily (slow import). Returns, FSQ/Compass
and the mart checks all validate through `validate`; each keeps only how it words the failures.
"""
from __future__ import annotations

import json
from functools import lru_cache

import pipelines.config as cfg


@lru_cache(maxsize=None)
def suite_text(name: str) -> str:
    return (cfg.EXPECTATIONS_DIR / f"{name}.json").read_text(encoding="utf-8")


def suite_payload(name: str) -> dict:
    return json.loads(suite_text(name))


@lru_cache(maxsize=1)
def _batch_definition():
    import great_expectations as gx

    ctx = gx.get_context(mode="ephemeral")
    try:  # no progress bars in logs
        from great_expectations.data_context.types.base import ProgressBarsConfig
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # noqa: BLE001 - cosmetic
        pass
    asset = ctx.data_sources.add_pandas("intake").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole")


def validate(payload: dict, frame, result_format: str = "SUMMARY", parameters: dict | None = None):
    """Validate a pandas frame against a suite payload; the GX validation result."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=payload["name"], expectations=payload["expectations"],
                                meta=payload.get("meta"), notes=payload.get("notes"))
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    return batch.validate(suite, result_format=result_format, expectation_parameters=parameters or {})


def exception_text(r) -> str | None:
    return (r.exception_info or {}).get("exception_message") if r.exception_info else None
