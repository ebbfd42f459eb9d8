"""The ingest asset through Dagster, then the benchmark dbt models on a temporary warehouse with
a hand-made `destination_measures` (so expected differences are known exactly)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from pipelines.config import DBT_PROJECT_DIR
from pipelines.defs.ingest.benchmarks import benchmark_files
from pipelines.defs.resources import WarehouseResource
from pipelines.lib.warehouse import ensure_raw_tables

from .conftest import SHARED, link_into

MODELS = ["stg_benchmarks__measures", "stg_benchmarks__gias_links", "int_benchmarks__urn_lineage",
          "int_benchmarks__nccis_la", "int_benchmarks__trust_first_actual_round",
          "benchmark_measures", "benchmark_national_comparison",
          "benchmark_academy_dfe_destinations", "stg_returns__academies",
          "benchmark_national_comparison_published", "benchmark_academy_dfe_destinations_published"]
PCTS = ["education", "school_sixth_form", "sixth_form_college", "further_education", "higher_education",
        "other_education", "apprenticeship", "employment", "training", "positive", "neet", "not_known",
        "other", "undecided"]


def _materialize(data: Path) -> dg.ExecuteInProcessResult:
    return dg.materialize([benchmark_files], resources={"warehouse": WarehouseResource(data_dir=str(data))})


def test_asset_seed_only_and_garbage(tmp_path):
    (tmp_path / "raw" / "benchmarks").mkdir(parents=True)
    (tmp_path / "raw" / "benchmarks" / "garbage.csv").write_bytes(b"\x00\x01not,csv\xff")
    result = _materialize(tmp_path)
    assert result.success
    mats = {m.asset_key.path[-1]: m.metadata
            for m in (e.event_specific_data.materialization for e in result.get_asset_materialization_events())}
    meta = mats["benchmark_measures_raw"]
    assert "garbage.csv" in meta["unrecognised_or_failed"].value
    assert meta["files_by_status"].value == {"unrecognised": 1}
    con = duckdb.connect(str(tmp_path / "warehouse" / "warehouse.duckdb"), read_only=True)
    n_seed = con.execute("select count(*) from raw.benchmark_measures_raw where source_file = 'seed'").fetchone()[0]
    assert n_seed == con.execute("select count(*) from raw.benchmark_measures_raw").fetchone()[0] > 300
    assert con.execute("select count(*) from raw.gias_links").fetchone()[0] == 0
    con.close()


def _destination_measures(con: duckdb.DuckDBPyConnection) -> None:
    """marts.destination_measures with contract columns and a few known rows."""
    rows = []
    def add(level, urn, year, ks, rnd, kind, order, topic, bd, cohort, positive_pct):
        r = dict(level=level, academy_urn=urn, academy_name=None, counts_in_trust_totals=True, leaving_year=year,
                 key_stage=ks, round=rnd, round_kind=kind, round_order=order, breakdown_topic=topic, breakdown=bd,
                 topic_order=1, breakdown_order=1, cohort=cohort)
        r.update({c: 0 for c in PCTS})
        r.update({c + "_pct": 0.0 for c in PCTS})
        r["positive_pct"] = positive_pct
        r["education_pct"] = None if positive_pct is None else positive_pct - 5
        rows.append(r)
    for rnd, kind, order, delta in (("R1", "intended", 1, 10.0), ("R3", "actual", 3, 0.0)):
        add("trust", None, "2022-23", "KS4", rnd, kind, order, "Disadvantage", "Disadvantaged", 40, 80.0 + delta)
        add("trust", None, "2024-25", "KS4", rnd, kind, order, "Total", "Total", 200, 95.0 + delta)
        add("academy", "146493", "2022-23", "KS4", rnd, kind, order, "Total", "Total", 120, 90.0 + delta)
        add("academy", "146493", "2016-17", "KS4", rnd, kind, order, "Total", "Total", 80, 97.5 + delta)
    add("trust", None, "2022-23", "16-18", "R3", "actual", 3, "Total", "Total", 0, None)  # empty cohort
    con.execute("create schema if not exists marts")
    con.register("dm", pl.DataFrame(rows).to_arrow())
    con.execute("create or replace table marts.destination_measures as select * from dm")
    # the published twin: same rows, one small academy row suppressed
    con.execute("create or replace table marts.destination_measures_published as select * replace ("
                "case when academy_urn = '146493' and leaving_year = '2016-17' then null else positive_pct end "
                "as positive_pct), academy_urn = '146493' and leaving_year = '2016-17' as suppressed from dm")


def _dbt(data: Path, tmp: Path, command: str, select: list[str] = MODELS) -> subprocess.CompletedProcess:
    env = {**os.environ, "DESTINATIONS_WAREHOUSE_PATH": str(data / "warehouse" / "warehouse.duckdb"),
           "DESTINATIONS_DATA_DIR": str(data), "DO_NOT_TRACK": "1"}
    dbt = Path(sys.executable).parent / "dbt"
    return subprocess.run([str(dbt), command, "--select", *select, "--project-dir", str(DBT_PROJECT_DIR),
                           "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp / "target"),
                           "--log-path", str(tmp / "logs")], cwd=DBT_PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bm_pipeline")
    data = tmp / "data"
    bench = data / "raw" / "benchmarks"
    bench.mkdir(parents=True)
    real = SHARED.exists()
    if real:  # school rows (2024-25 tables with meta; 2018/19 tables dated by the seed) and GIAS links
        link_into(bench, ("pt_ks4_2425", "2024-2025/england_ks4-pupdest.csv"),
                  ("pt_ks4_meta", "2024-2025/ks4-pupdest_meta.csv"),
                  ("pt_ks4_1718", "2017-2018/england_ks4-pupdest.csv"),
                  ("gias_links", "gias/links_edubasealldata20250422.csv"),
                  ("nccis_2025", "nccis/UD_NEETNK_LA_dashboard_final.csv"))
    (bench / "readme.txt").write_text("not a benchmark")
    result = _materialize(data)
    assert result.success
    con = duckdb.connect(str(data / "warehouse" / "warehouse.duckdb"))
    ensure_raw_tables(con)
    con.execute("insert into raw.academies values ('146493', 'Nether Stowe School', '860', 'secondary', false, "
                "date '2019-01-01'), ('142711', 'Leek High School', '860', 'secondary', true, date '2016-04-01')")
    _destination_measures(con)
    con.close()
    proc = _dbt(data, tmp, "run")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    proc = _dbt(data, tmp, "test", [m for m in MODELS if m.startswith("benchmark_")])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    con = duckdb.connect(str(data / "warehouse" / "warehouse.duckdb"), read_only=True)
    yield con, real
    con.close()


def test_raw_table_has_files_and_seed(built):
    con, real = built
    by = dict(con.execute("select source_file = 'seed', count(*) from raw.benchmark_measures_raw group by 1").fetchall())
    assert by[True] > 300
    if real:
        assert by[False] > 100_000
        # the NCCIS 2025 file repeats figures of the seed: the file's row wins, no duplicate
        n = con.execute("select count(*), count(*) filter (where source_file <> 'seed') from "
                        "raw.benchmark_measures_raw where "
                        "source='nccis_neet' and geography_code='E92000001' and period='2025' and "
                        "breakdown='Total' and measure='neet_not_known_pct'").fetchone()
        assert n == (1, 1)


def test_benchmark_measures_mart(built):
    con, _ = built
    cols = [r[0] for r in con.execute("describe marts.benchmark_measures").fetchall()]
    assert cols[:14] == ["source", "publication", "is_latest", "leaving_year", "period", "geography_level",
                         "geography_code", "key_stage", "institution_group", "breakdown_topic", "breakdown",
                         "measure", "value", "suppressed"]
    assert con.execute("select count(*) from marts.benchmark_measures where is_latest and source='nccis_neet' "
                       "and geography_code='E92000001' and period='2025' and breakdown='Total' "
                       "and measure='neet_not_known_pct' and value = 5.6").fetchone()[0] == 1


def test_national_comparison(built):
    con, _ = built
    q = ("select cohort, trust_value, national_value, difference_pp, benchmark_leaving_year, same_leaving_year, "
         "benchmark_institution_group, national_cohort, round, caveat from marts.benchmark_national_comparison "
         "where level = ? and leaving_year = ? and key_stage = 'KS4' and breakdown = ? and measure = ?")
    r = con.execute(q, ["trust", "2022-23", "Disadvantaged", "positive_pct"]).fetchall()
    assert len(r) == 1
    cohort, tv, nv, diff, by, same, grp, ncoh, rnd, cav = r[0]
    assert (cohort, tv, nv, by, same, grp, ncoh, rnd) == (40, 80.0, 83.1, "2022-23", True,
                                                           "mainstream and special", 159566, "R3")
    assert diff == pytest.approx(-3.1)
    assert "sustained" in cav
    # no national figure yet for 2024-25 leavers: the latest published (2022-23) is used and flagged
    r = con.execute(q, ["trust", "2024-25", "Total", "positive_pct"]).fetchall()
    assert r[0][2] == 91.3 and r[0][4] == "2022-23" and r[0][5] is False
    assert r[0][9].startswith("National figure is for 2022-23 leavers")
    assert con.execute(q, ["academy", "2022-23", "Total", "education_pct"]).fetchall()[0][1:3] == (85.0, 85.5)
    # empty cohorts and intended rounds are not compared
    assert con.execute("select count(*) from marts.benchmark_national_comparison where key_stage = '16-18' "
                       "or round <> 'R3'").fetchone()[0] == 0


def test_academy_dfe_destinations(built):
    con, real = built
    if not real:
        assert con.execute("select count(*) from marts.benchmark_academy_dfe_destinations").fetchone()[0] == 0
        pytest.skip("school-level files not available")
    q = ("select published_urn, via_predecessor, dfe_value, trust_value, difference_pp, dfe_publication "
         "from marts.benchmark_academy_dfe_destinations where academy_urn = ? and leaving_year = ? "
         "and key_stage = 'KS4' and breakdown = ? and measure = ?")
    # converted academy: its 2016-17 leavers were published under the predecessor URN 124409
    r = con.execute(q, ["146493", "2016-17", "Total", "positive_pct"]).fetchall()
    assert r[0][:5] == ("124409", True, 94.0, 97.5, 3.5)
    assert con.execute(q, ["146493", "2016-17", "Disadvantaged", "positive_pct"]).fetchall()[0][2] == 86.0
    r = con.execute(q, ["146493", "2022-23", "Total", "positive_pct"]).fetchall()
    assert r[0][:5] == ("146493", False, 86.0, 90.0, 4.0)
    leek = {b: con.execute(q, ["142711", "2022-23", b, "positive_pct"]).fetchall()[0][2]
            for b in ("Total", "Disadvantaged", "Not disadvantaged")}
    assert leek == {"Total": 81.0, "Disadvantaged": 73.0, "Not disadvantaged": 84.0}
    assert con.execute(q, ["142711", "2022-23", "Total", "positive_pct"]).fetchall()[0][3] is None


def test_nccis_la_intermediate(built):
    con, _ = built
    r = con.execute("select la_name, neet_not_known_pct, neet_pct, not_known_pct, england_neet_not_known_pct, "
                    "leaving_year, destination_year from intermediate.int_benchmarks__nccis_la "
                    "where la_code = '860' and period = '2025'").fetchall()
    assert r == [("Staffordshire", 6.0, 4.2, 1.8, 5.6, "2023-24", "2024-25")]


def test_published_twins(built):
    con, real = built
    r = con.execute("select trust_value, difference_pp, trust_value_suppressed from "
                    "marts.benchmark_national_comparison_published where level = 'trust' and leaving_year = '2022-23' "
                    "and breakdown = 'Disadvantaged' and measure = 'positive_pct'").fetchall()
    assert r[0][0] == 80.0 and r[0][1] == pytest.approx(-3.1) and r[0][2] is False
    n = con.execute("select count(*) from marts.benchmark_national_comparison_published").fetchone()[0]
    assert n == con.execute("select count(*) from marts.benchmark_national_comparison").fetchone()[0]
    if real:
        r = con.execute("select dfe_value, trust_value, difference_pp, trust_value_suppressed from "
                        "marts.benchmark_academy_dfe_destinations_published where academy_urn = '146493' and "
                        "leaving_year = '2016-17' and breakdown = 'Total' and measure = 'positive_pct'").fetchall()
        assert r == [(94.0, None, None, True)]
