"""config/goals.yaml and config/neet_risk.yaml load into the raw tables the marts read; a
configuration the marts cannot use is refused with a message naming the problem."""
from __future__ import annotations

import duckdb
import pytest

from pipelines.lib.goals import (ConfigError, default_goals_frame, default_neet_risk_frame, goals_frame,
                                 neet_risk_frame, write_config_tables)

GOAL = {"id": "g", "population": {"sex": "F"}, "routes": ["Digital"], "measure": "population_share_of_route_entrants",
        "target_pct": 30, "comparator": {"value_pct": 36.4, "year": "2023/24", "source": "https://example.org"}}


def test_shipped_goals_counter_stereotypes_with_sourced_comparators():
    goals = default_goals_frame()
    assert goals.height >= 6
    assert set(goals["population_sex"]) == {"F", "M"}
    assert goals["comparator_source"].str.starts_with("http").all()
    girls = goals.filter(goals["goal_id"] == "girls_engineering").row(0, named=True)
    assert girls["routes"] == ["Engineering and manufacturing"] and girls["comparator_pct"] == 10.3


@pytest.mark.parametrize("change,message", [
    ({"routes": ["Rocket science"]}, "unknown"),
    ({"measure": "share"}, "measure"),
    ({"population": {"sex": "X"}}, "sex"),
    ({"target_pct": "lots"}, "target_pct"),
    ({"key_stage": "KS5"}, "key_stage"),
])
def test_bad_goal_is_refused(change, message):
    with pytest.raises(ConfigError, match=message):
        goals_frame({"goals": [{**GOAL, **change}]})


def test_any_route_goal_and_duplicate_ids():
    frame = goals_frame({"goals": [{**GOAL, "routes": ["any"], "destination_groups": ["apprenticeship"]}]})
    assert frame["all_routes"][0] is True and frame["destination_groups"][0].to_list() == ["apprenticeship"]
    with pytest.raises(ConfigError, match="unique id"):
        goals_frame({"goals": [GOAL, GOAL]})


def test_neet_risk_weights():
    weights = default_neet_risk_frame()
    assert weights["factor"].n_unique() == weights.height == 10
    assert (weights["flag_threshold"] == weights["flag_threshold"][0]).all()
    one = neet_risk_frame({"flag_threshold": 2, "factors": {"undecided": 4}})
    assert dict(zip(one["factor"], one["weight"]))["undecided"] == 4.0
    assert dict(zip(one["factor"], one["weight"]))["disadvantaged"] == 0.0
    with pytest.raises(ConfigError, match="unknown factors"):
        neet_risk_frame({"factors": {"star_sign": 1}})


def test_tables_written(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    write_config_tables(con, default_goals_frame(), default_neet_risk_frame())
    assert con.execute("select count(*) from raw.goals").fetchone()[0] == default_goals_frame().height
    assert con.execute("select routes from raw.goals where goal_id = 'girls_digital'").fetchone()[0] == ["Digital"]
    assert con.execute("select count(*) from raw.neet_risk_weights").fetchone()[0] == 10
