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
