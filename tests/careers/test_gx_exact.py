"""GX on each column's distinct values flags exactly the rows GX flags on the whole frame."""
from __future__ import annotations

import polars as pl

import pipelines.config  # noqa: F401  (telemetry off)
from pipelines.lib.careers.fsq_config import load_fsq_config
from pipelines.lib.careers.gx_check import Failure, evaluate_polars, per_value_suite, run_suite, validate_frame


def _whole(name, frame, params=None):
    """{rule: failing row indices} from GX on the whole frame (the reference)."""
    return {m["rule"]: sorted(idx) for m, idx, _ in run_suite(name, frame.to_pandas(), params) if idx}


def _compressed(name, frame, params=None):
    out = {}
    for f in validate_frame(name, frame, params):
        assert isinstance(f, Failure)
        m = f.mask(frame) if f.row_level else None
        if m is not None and m.any():
            out[f.meta["rule"]] = m.arg_true().to_list()
    return out


def _polars(name, frame, params=None):
    """The polars evaluation (what ingest runs): {rule: failing row indices}."""
    fails = evaluate_polars(name, frame, params)
    assert fails is not None
    return {f.meta["rule"]: f.mask(frame).arg_true().to_list() for f in fails if f.row_level}


def test_fsq_suite_is_per_value_and_exact():
    assert per_value_suite("fsq_responses") and per_value_suite("compass_evaluations")
    conf = load_fsq_config()
    params = {"known_items": sorted(conf.items), "scale_labels": conf.labels}
    upns = ["A352401310001", "12345", None, "A352401310001", "a3524013100x1", "A352401310001"] * 3
    frame = pl.DataFrame({
        "upn": upns,
        "year_group": pl.Series([11, 14, None, 7, 11, 6] * 3, dtype=pl.Int32),
        "survey_date": ["2024-10-10", None, "2024-10-10", "2024-10-11", None, "2024-10-10"] * 3,
        "item_id": ["CK01", "XX42", "CK01", "bad item!", "CK02", None] * 3,
        "response": ["Agree", "Maybe", None, "Agree", "7", "Strongly agree"] * 3,
    })
    whole = _whole("fsq_responses", frame, params)
    assert {"upn_missing", "upn_format", "year_group_range", "year_group_invalid", "survey_date_invalid",
            "item_unknown", "item_id_invalid", "response_off_scale"} <= set(whole)
    assert _compressed("fsq_responses", frame, params) == whole
    assert _polars("fsq_responses", frame, params) == whole


def test_compass_suite_exact():
    frame = pl.DataFrame({
        "urn": ["140001", "14000", None, "140001"] * 2,
        "evaluation_date": ["2024-11-20", None, "2024-11-20", "2024-11-21"] * 2,
        "framework_version": ["2018", "2019", None, "2025"] * 2,
        "benchmark": pl.Series([1, 9, None, 8] * 2, dtype=pl.Int32),
        "percent_achieved": [100.0, 140.0, None, -1.0, float("nan"), float("inf"), 0.0, 55.5],
        "criterion_status": [None, "fully achieved", "done", "in progress"] * 2,
    })
    whole = _whole("compass_evaluations", frame)
    assert len(whole) >= 6
    assert _compressed("compass_evaluations", frame) == whole
    assert _polars("compass_evaluations", frame) == whole
    assert {"percent_invalid", "percent_range"} <= set(whole)   # NaN is missing to GX, inf out of range
