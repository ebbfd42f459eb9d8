"""The GX suites on the marts: valid JSON, each names a real mart, and they catch what they
are for (a published cohort of 4 fails; the real published mart passes)."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from pipelines.defs.quality.marts_checks import suite_files, validate_mart
from pipelines.lib.dbt_manifest import mart_models


def test_every_suite_names_a_mart():
    suites = suite_files()
    assert {"destination_measures_published", "neet_not_known_published"} <= set(suites)
    # GX runs on published marts only (the serving boundary); rules on the other marts are dbt tests
    assert all(m.endswith("_published") for m in suites)
    marts = set(mart_models())
    for mart, path in suites.items():
        payload = json.loads(path.read_text())
        assert payload["name"] == f"marts_{mart}"
        assert mart in marts, f"{path.name}: no dbt mart {mart}"
        assert all("type" in e and "kwargs" in e for e in payload["expectations"])


def _published_row(**kw):
    row = {"level": "academy", "academy_urn": "100001", "leaving_year": "2024-25", "key_stage": "KS4",
           "round": "R3", "breakdown_topic": "Total", "breakdown": "Total", "suppression_status": "shown",
           "cohort": 30}
    for c in ["education", "school_sixth_form", "sixth_form_college", "further_education", "higher_education",
              "other_education", "apprenticeship", "employment", "training", "positive", "neet", "not_known",
              "other", "undecided"]:
        row[c], row[c + "_pct"] = 0, 0.0
    row.update(kw)
    return row


@pytest.mark.parametrize("bad,ok", [({"cohort": 4}, False), ({"neet": 2, "neet_pct": 6.7}, False), ({}, True)])
def test_published_suite_catches_small_numbers(bad, ok):
    payload = json.loads(suite_files()["destination_measures_published"].read_text())
    frame = pd.DataFrame([_published_row(**bad), _published_row(breakdown_topic="Sex", breakdown="Female")])
    success, evaluated, failures = validate_mart(frame, payload)
    assert evaluated > 10
    assert success is ok, failures


def test_polars_evaluation_agrees_with_great_expectations():
    """The mart checks evaluate the suites in polars (no GX import in a run); GX itself is the
    oracle: same verdict, same failing expectations with the same counts, good frame and bad."""
    import polars as pl

    from pipelines.lib.returns.gx_suite import validate_frame

    payload = json.loads(suite_files()["destination_measures_published"].read_text())
    good = pl.DataFrame([_published_row(), _published_row(breakdown_topic="Sex", breakdown="Female"),
                         _published_row(level="trust", academy_urn=None)])
    bad = pl.DataFrame([
        _published_row(cohort=4),                                        # small cohort shown
        _published_row(breakdown_topic="Sex", breakdown="Female", neet_pct=150.0),
        _published_row(breakdown_topic="Sex", breakdown="Female"),       # grain twice
        _published_row(level="region", academy_urn=None),                # unknown level
        _published_row(leaving_year="2024/25", breakdown="Male", breakdown_topic="Sex"),
        _published_row(level="trust", academy_urn=None, neet=2),         # small numerator shown
    ])
    for frame in (good, bad, bad.drop("undecided_pct"), bad.head(0)):
        ok, evaluated, failures = validate_mart(frame, payload)
        gx = validate_frame(frame.to_pandas(), payload)
        assert evaluated == gx.evaluated == len(payload["expectations"])
        assert ok == gx.success
        assert sorted((f["expectation"], f["column"] or "", f["unexpected_count"] or 0) for f in failures) == \
            sorted((f.expectation, f.column or "", f.unexpected_count) for f in gx.failures)
    assert validate_mart(good, payload)[0]
    failed = {(f["expectation"], f["column"]) for f in validate_mart(bad, payload)[2]}
    assert {("expect_column_values_to_not_be_in_set", "cohort"), ("expect_column_values_to_be_between", "neet_pct"),
            ("expect_compound_columns_to_be_unique", None), ("expect_column_values_to_be_in_set", "level"),
            ("expect_column_values_to_match_regex", "leaving_year"),
            ("expect_column_values_to_not_be_in_set", "neet")} <= failed
    assert ("expect_column_to_exist", "undecided_pct") in {
        (f["expectation"], f["column"]) for f in validate_mart(bad.drop("undecided_pct"), payload)[2]}
    assert ("expect_table_row_count_to_be_between", None) in {
        (f["expectation"], f["column"]) for f in validate_mart(bad.head(0), payload)[2]}
