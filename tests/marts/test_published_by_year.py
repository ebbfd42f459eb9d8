"""The published marts of the leaving-year marts (and neet_risk_rates) are rebuilt per leaving year
(macros/by_leaving_year.sql; td_publish reads only those years' mart rows and engine partitions):
a build that names one leaving year gives that year the rows a full build gives and keeps every
other year's rows as they were."""
from __future__ import annotations

import re
import shutil

import duckdb
import polars as pl
import pytest

from pipelines.config import leaving_year_label
from pipelines.lib.disclosure.structure import MARTS, partition_labels
from pipelines.lib.generate.trust import CURRENT_START, LAST_COMPLETE_START
from tests.marts.conftest import YEARS
from tests.marts.helpers import DBT_PROJECT_DIR, partition_label, run_dbt

BY_YEAR = {"destination_measures_published", "neet_not_known_published", "goal_progress_published",
           "destination_reconciliation_rates_published", "destination_reconciliation_flows_published",
           "destination_routes_published", "destination_providers_published", "fsq_destination_rates_published",
           "neet_risk_rates_published", "neet_risk_rates"}


def _by_year_models() -> dict[str, str]:
    """model name -> its SQL, for every model materialized by_leaving_year."""
    return {p.stem: p.read_text() for p in (DBT_PROJECT_DIR / "models").rglob("*.sql")
            if "by_leaving_year()" in p.read_text()}


def test_a_published_model_kept_per_year_reads_a_mart_the_engine_partitions_by_leaving_year():
    models = _by_year_models()
    assert BY_YEAR <= set(models)
    partition = {spec.name: spec.partition for spec in MARTS}
    for name, sql in models.items():
        mart = re.search(r"mart='(\w+)'", sql)
        if "td_publish(" in sql and "rebuilt_by='changed_pupils'" in sql:
            # FSQ survey slices (macros/by_changed_pupils.sql td_fsq_slice_columns): the engine's partition
            assert partition[mart.group(1)] == ("academic_year", "survey_round", "year_group"), name
        elif "td_publish(" in sql:
            # td_publish names the year's engine partition by td_partition_label (structure.partition_sql)
            assert partition[mart.group(1)] == ("leaving_year",), name
    assert not {n for n, s in models.items() if "td_publish(" in s and "rebuilt_by=" not in s} - BY_YEAR


@pytest.mark.parametrize("spec", [s for s in MARTS if s.partition == ("leaving_year",)], ids=lambda s: s.name)
def test_dbt_names_a_leaving_years_partition_as_the_engine_does(spec):
    years = [leaving_year_label(s) for s in range(LAST_COMPLETE_START - YEARS + 1, CURRENT_START + 1)]
    engine = partition_labels(spec, pl.DataFrame({"leaving_year": years})).to_list()
    assert engine == [partition_label(y) for y in years]
    assert len(set(engine)) == len(years) >= 3


def _rows(warehouse, model: str, year: str) -> list[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return _rows_con(con, model, year)
    finally:
        con.close()


def test_one_named_year_equals_a_full_build_and_other_years_are_kept(demo_warehouse, tmp_path, monkeypatch):
    wh = tmp_path / "warehouse" / "warehouse.duckdb"
    wh.parent.mkdir()
    shutil.copy2(demo_warehouse[0], wh)
    con = duckdb.connect(str(wh))
    try:
        years = [r[0] for r in con.execute("select distinct leaving_year from marts.destination_measures "
                                           "order by 1").fetchall()]
        kept, named = years[0], years[-1]
        before = {m: {y: _rows_con(con, m, y) for y in (kept, named)} for m in BY_YEAR}
        # new engine decisions and new mart rows in both years; only `named` is rebuilt
        flipped = con.execute("update intermediate.int_disclosure__cells set hidden = not hidden "
                              "where partition_label in (?, ?)",
                              [partition_label(kept), partition_label(named)]).fetchone()[0]
        con.execute("update marts.destination_measures set cohort = cohort + 1000 where leaving_year in (?, ?)",
                    [kept, named])
        con.execute("update marts.neet_risk_pupils set is_flagged = not is_flagged")
        risk_years = [r[0] for r in con.execute("select distinct leaving_year from marts.neet_risk_pupils").fetchall()]
    finally:
        con.close()
    assert flipped > 0

    monkeypatch.setenv("DESTINATIONS_BUILD_LEAVING_YEARS", named)
    run_dbt(wh, "run", "--select", *sorted(BY_YEAR))
    narrow = {m: {y: _rows(wh, m, y) for y in (kept, named)} for m in BY_YEAR}
    assert _recorded_hashes(wh) == _table_hashes(wh)    # the content hash kept per year is the whole table's
    monkeypatch.delenv("DESTINATIONS_BUILD_LEAVING_YEARS")
    run_dbt(wh, "run", "--select", *sorted(BY_YEAR))
    full = {m: {y: _rows(wh, m, y) for y in (kept, named)} for m in BY_YEAR}

    for m in BY_YEAR:
        assert narrow[m][named] == full[m][named], m
        assert narrow[m][kept] == before[m][kept], m
    changed = {m for m in BY_YEAR if full[m][named] != before[m][named]}
    assert "destination_measures_published" in changed and len(changed) >= 5, changed
    assert {m for m in BY_YEAR if full[m][kept] != before[m][kept]} >= {"destination_measures_published"}
    if named in risk_years:
        assert "neet_risk_rates" in changed


def _rows_con(con, model: str, year: str) -> list[str]:
    """The model's rows of one leaving year, each as its repr (so NaN equals NaN), sorted."""
    return sorted(map(repr, con.execute(f"select * from marts.{model} where leaving_year = ?", [year]).fetchall()))


def _recorded_hashes(warehouse) -> dict[str, str]:
    """rows:sum of each model's content hash as its build recorded it (macros/content_hash.sql)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {m: ":".join(con.execute("select comment from duckdb_tables() where schema_name = 'marts' "
                                        "and table_name = ?", [m]).fetchone()[0].split(" ", 1)[1].split(":")[:2])
                for m in sorted(BY_YEAR)}
    finally:
        con.close()


def _table_hashes(warehouse) -> dict[str, str]:
    """rows:sum of each model's rows hashed whole."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {m: con.execute(f"select cast(count(*) as varchar) || ':' || "
                               f"cast(coalesce(sum(hash(t)::hugeint), 0) as varchar) from marts.{m} t").fetchone()[0]
                for m in sorted(BY_YEAR)}
    finally:
        con.close()
