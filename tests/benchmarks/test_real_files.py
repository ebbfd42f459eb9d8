"""Exact published figures from the real public files, through recognition, the readers and
the harmoniser (seed left out so every row comes from the file under test)."""
from __future__ import annotations

import polars as pl
import pytest

from pipelines.lib.benchmarks import CONTRACT_COLUMNS, recognise, scan_benchmarks
from pipelines.lib.benchmarks.common import frame

from .conftest import link_into, one, real

NO_SEED = frame([])


@pytest.fixture(scope="module")
def ks4(tmp_path_factory):
    """Old-format 2022/23 revised + 2021/22 provisional + 2020/21 revised + the 2025 file."""
    root = link_into(tmp_path_factory.mktemp("ks4") / "benchmarks",
                     ("ks4_old_202223", "national/ks4_dm_ud_202223_nat_rev.csv"),
                     ("ks4_old_202122", "older/ks4_dm_ud_202122_nat_prov.csv"),
                     ("ks4_old_202021", "older/ks4_dm_ud_202021_nat_rev.csv"),
                     ("ks4_new", "2025/ees_ks4_nat_202223.csv"))
    return scan_benchmarks(root, seed=NO_SEED).measures


def _dis(df, **kw):
    return one(df, geography_level="national", key_stage="KS4", institution_group="mainstream and special",
               breakdown_topic="Disadvantage", breakdown="Disadvantaged", **kw)


def test_contract_columns_first(ks4):
    assert ks4.columns[:len(CONTRACT_COLUMNS)] == CONTRACT_COLUMNS
    assert ks4.schema["value"] == pl.Float64 and ks4.schema["is_latest"] == pl.Boolean


def test_old_format_time_period_is_destination_year(ks4):
    old = ks4.filter(pl.col("publication").cast(pl.Utf8).str.contains("2021-22 leavers, revised"))
    r = _dis(old, leaving_year="2021-22", measure="positive_pct")
    assert r["value"] == 86.2 and r["period"] == "202223" and r["destination_year"] == "2022-23"
    assert r["suppressed"] is False and r["is_latest"] is False
    assert r["methodology"] == "pre-2025"
    assert _dis(old, leaving_year="2021-22", measure="cohort")["value"] == 155078
    assert _dis(old, leaving_year="2021-22", measure="not_sustained_pct")["value"] == 12.1


def test_new_format_same_cohort_lands_on_same_leaving_year(ks4):
    new = ks4.filter(pl.col("publication").cast(pl.Utf8).str.contains("(2025 format)", literal=True))
    r = _dis(new, leaving_year="2021-22", measure="positive_pct")
    # the 2025 file calls this cohort time_period 202122 and recalculates it with LEO employment
    assert r["value"] == 84.5 and r["period"] == "202122" and r["destination_year"] == "2022-23"
    assert r["is_latest"] is True and r["methodology"] == "2025 LEO employment"
    assert _dis(new, leaving_year="2021-22", measure="cohort")["value"] == 155078
    latest = _dis(new, leaving_year="2022-23", measure="positive_pct")
    assert latest["value"] == 83.1 and latest["version"] == "Provisional"
    assert one(new, geography_level="national", key_stage="KS4", institution_group="mainstream and special",
               breakdown_topic="Disadvantage", breakdown="Not disadvantaged", leaving_year="2022-23",
               measure="positive_pct")["value"] == 94.2


def test_is_latest_once_per_figure(ks4):
    key = ["source", "leaving_year", "geography_level", "geography_code", "key_stage", "institution_group",
           "breakdown_topic", "breakdown", "measure"]
    counts = ks4.group_by(key).agg(pl.col("is_latest").sum().alias("n"))
    assert counts["n"].max() == 1 and counts["n"].min() == 1
    # the pre-2025 2021/22 provisional figure is superseded by the 2022/23 revised one
    prov = ks4.filter(pl.col("publication").cast(pl.Utf8).str.contains("provisional (pre-2025", literal=True))
    r = _dis(prov, leaving_year="2020-21", measure="positive_pct")
    assert r["value"] == 87.7 and r["is_latest"] is False


def test_label_drift_gender_sex_and_characteristic_group(ks4):
    # 2020/21 file: characteristic_group/characteristic and 'Gender'; 2025 file: 'Sex'
    old = ks4.filter(pl.col("publication").cast(pl.Utf8).str.contains("2019-20 leavers"))
    assert set(old.filter(pl.col("breakdown_topic") == "Sex")["breakdown"].unique()) == {"Male", "Female"}
    assert old.filter(pl.col("breakdown_topic").is_in(["Gender", "Disadvantage Status"])).height == 0
    new = ks4.filter(pl.col("publication").cast(pl.Utf8).str.contains("(2025 format)", literal=True))
    ds = set(new.filter(pl.col("breakdown_topic") == "Disadvantage and sex")["breakdown"].unique())
    assert ds == {"Disadvantaged Female", "Disadvantaged Male", "Not disadvantaged Female", "Not disadvantaged Male"}
    # pupils -> students: counts read from both ('Number of pupils' / 'Number of students')
    assert set(ks4.filter(pl.col("measure") == "positive")["methodology"].unique()) == {"pre-2025", "2025 LEO employment"}
    # 'State-funded mainstream & special schools' and 'Total state-funded mainstream and special'
    assert set(ks4["institution_group"].unique()) == {"mainstream", "mainstream and special", "special",
                                                     "alternative provision", "all"}


def test_sen_names_and_suppression_tokens(ks4):
    old = ks4.filter(pl.col("publication").cast(pl.Utf8).str.contains("2021-22 leavers, revised"))
    sen = {b: one(old, geography_level="national", institution_group="mainstream and special",
                  breakdown_topic="SEN provision", breakdown=b, leaving_year="2021-22",
                  measure="positive_pct")["value"] for b in ("No SEN", "SEN support", "EHC plan")}
    assert sen == {"No SEN": 94.2, "SEN support": 87.3, "EHC plan": 88.4}
    flags = ks4.group_by("value_flag").len()
    assert {"c", "low"} <= set(flags["value_flag"].drop_nulls())
    assert ks4.filter(pl.col("suppressed") & pl.col("value").is_not_null()).height == 0
    assert ks4.filter(pl.col("value_flag").is_in(["z", "x"])).height == 0   # no figure: not stored


@pytest.fixture(scope="module")
def nccis(tmp_path_factory):
    root = link_into(tmp_path_factory.mktemp("nccis") / "benchmarks",
                     ("nccis_2025", "UD_NEETNK_LA_dashboard_final.csv"),
                     ("nccis_2024", "old/UD_NEETNK_LA_dashboard_final.csv"),
                     ("nccis_2021", "UD_NEETNK_LA_dashboard_2021_vg_removed.csv"))
    return scan_benchmarks(root, seed=NO_SEED).measures


def test_nccis_england_2025(nccis):
    eng = nccis.filter((pl.col("geography_code") == "E92000001") & (pl.col("period") == "2025")
                       & (pl.col("breakdown_topic") == "Total"))
    got = {m: one(eng, measure=m)["value"] for m in
           ("neet_not_known_pct", "neet_pct", "not_known_pct", "participation_pct", "september_guarantee_offer_pct")}
    assert got == {"neet_not_known_pct": 5.6, "neet_pct": 3.4, "not_known_pct": 2.2,
                   "participation_pct": 92.0, "september_guarantee_offer_pct": 94.6}
    r = one(eng, measure="neet_not_known_pct")
    assert r["leaving_year"] is None and r["destination_year"] == "2024-25" and r["key_stage"] is None
    assert "December" in r["caveat"]
    assert one(eng, measure="september_guarantee_offer_pct")["leaving_year"] == "2023-24"
    sen = nccis.filter((pl.col("period") == "2025") & (pl.col("geography_level") == "national")
                       & (pl.col("breakdown_topic") == "SEN provision"))
    assert {b: one(sen, breakdown=b, measure="neet_not_known_pct")["value"]
            for b in ("No SEN", "SEN support", "EHC plan")} == \
        {"No SEN": 4.9, "SEN support": 9.6, "EHC plan": 10.1}


def test_nccis_la_rows_and_reused_file_name(nccis):
    leeds = one(nccis, geography_level="la", geography_code="383", period="2025", breakdown="Total",
                measure="neet_not_known_pct")
    assert leeds["value"] == 8.8 and leeds["la_code"] == "383" and leeds["geography_name"] == "Leeds"
    # two files called UD_NEETNK_LA_dashboard_final.csv (2024 and 2025) stay two publications
    assert nccis.filter(pl.col("geography_level") == "national")["period"].unique().sort().to_list() == \
        ["2021", "2024", "2025"]
    assert one(nccis, geography_level="national", period="2024", breakdown="Total",
               measure="neet_not_known_pct")["value"] == 5.4
    assert one(nccis, geography_level="national", period="2021", breakdown="Total",
               measure="neet_not_known_pct")["value"] == 5.5


@pytest.fixture(scope="module")
def pt(tmp_path_factory):
    """2024-25 tables laid out as downloaded: data and metadata folders side by side."""
    root = link_into(tmp_path_factory.mktemp("pt") / "benchmarks",
                     ("pt_ks4_2425", "data_2024-2025/england_ks4-pupdest.csv"),
                     ("pt_ks4_meta", "metadata_2024-2025/ks4-pupdest_meta.csv"),
                     ("pt_ks5_2425", "data_2024-2025/england_ks5-studest.csv"),
                     ("pt_ks5_meta", "metadata_2024-2025/ks5-studest_meta.csv"))
    return scan_benchmarks(root, seed=NO_SEED)


def test_performance_tables_school_row_as_published(pt):
    df = pt.measures
    leek = df.filter((pl.col("geography_code") == "142711") & (pl.col("leaving_year") == "2022-23")
                     & (pl.col("key_stage") == "KS4"))
    assert one(leek, breakdown="Total", measure="positive_pct")["value"] == 81.0
    assert one(leek, breakdown="Disadvantaged", measure="positive_pct")["value"] == 73.0
    assert one(leek, breakdown="Not disadvantaged", measure="positive_pct")["value"] == 84.0
    assert one(leek, breakdown="Total", measure="cohort")["value"] == 77
    assert one(leek, breakdown="Disadvantaged", measure="cohort")["value"] == 22
    r = one(leek, breakdown="Total", measure="positive_pct")
    assert r["geography_level"] == "school" and r["institution_group"] is None and r["la_code"] == "860"
    assert r["source"] == "performance_tables_ks4" and r["destination_year"] == "2023-24"
    # earlier cohorts' headline from the same file (labels read from the meta file)
    assert one(df, geography_code="142711", key_stage="KS4", leaving_year="2021-22", breakdown="Total",
               measure="positive_pct")["value"] == 88.0
    la = one(df, geography_level="la", geography_code="860", leaving_year="2022-23", breakdown="Total",
             key_stage="KS4", measure="positive_pct")
    assert la["value"] == 92.0 and la["institution_group"] == "mainstream and special"
    assert la["geography_name"] == "Staffordshire"
    nat = df.filter((pl.col("geography_level") == "national") & (pl.col("key_stage") == "KS4")
                    & (pl.col("leaving_year") == "2022-23") & (pl.col("breakdown") == "Total"))
    assert one(nat, measure="cohort")["value"] == 607348 and one(nat, measure="positive_pct")["value"] == 91.0


def test_performance_tables_tokens_and_meta_used(pt):
    df = pt.measures
    assert {"SUPP", "SP"} <= set(df["value_flag"].drop_nulls().unique())
    assert df.filter(pl.col("value_flag") == "NA").height == 0
    status = {f.file: f.status for f in pt.files}
    assert status["metadata_2024-2025/ks4-pupdest_meta.csv"] == "companion"
    assert status["data_2024-2025/england_ks4-pupdest.csv"] == "loaded"


def test_performance_tables_1618(pt):
    df = pt.measures.filter(pl.col("key_stage") == "16-18")
    swan = df.filter((pl.col("geography_code") == "100973") & (pl.col("breakdown") == "Total"))
    assert one(swan, measure="positive_pct")["value"] == 80.0
    assert one(swan, measure="cohort")["value"] == 119
    nat = df.filter((pl.col("geography_level") == "national") & (pl.col("breakdown") == "Total"))
    assert one(nat, measure="cohort")["value"] == 541441 and one(nat, measure="positive_pct")["value"] == 79.0
    assert one(nat, measure="cohort")["leaving_year"] == "2022-23"
    l3 = one(df, geography_level="national", breakdown_topic="Qualification level", breakdown="Level 3",
             measure="cohort")
    assert l3["value"] == 401601


def test_performance_tables_without_meta(tmp_path):
    # alone: the cohort year cannot be known -> reported, not fatal
    root = link_into(tmp_path / "a", ("pt_ks4_1718", "england_ks4-pupdest.csv"))
    res = scan_benchmarks(root, seed=NO_SEED)
    assert res.measures.height == 0
    assert res.files[0].status == "failed" and "ks4-pupdest_meta.csv" in res.files[0].message
    # with a national publication loaded, the national cohort 528,139 dates it: 2016-17 leavers
    root = link_into(tmp_path / "b", ("pt_ks4_1718", "england_ks4-pupdest.csv"),
                     ("ks4_old_202021", "ks4_dm_ud_202021_nat_rev.csv"))
    df = scan_benchmarks(root, seed=NO_SEED).measures.filter(pl.col("source") == "performance_tables_ks4")
    nat = df.filter((pl.col("geography_level") == "national") & (pl.col("breakdown") == "Total")
                    & (pl.col("measure") == "cohort"))
    assert dict(nat.select("leaving_year", "value").rows()) == {"2016-17": 528139, "2015-16": 541121,
                                                                 "2014-15": 553912}


@pytest.fixture(scope="module")
def others(tmp_path_factory):
    root = link_into(tmp_path_factory.mktemp("oth") / "benchmarks",
                     ("lad_ks4", "lad/data-key-stage-4-destination-measures.csv"),
                     ("lad_1618", "lad/data-16-18-destination-measures.csv"),
                     ("lait", "lait/bds_long_0.parquet"),
                     ("gias_links", "gias/links_edubasealldata20250422.csv"),
                     ("gias_types", "gias/edubasealldata20250422-establishment-types.csv"),
                     ("gias_edubase", "gias/ExampleImportFile.csv"))
    return scan_benchmarks(root, seed=NO_SEED)


def test_lad_extracts(others):
    df = others.measures
    # Camden is a single-tier LA: district E09000007 -> LA number 202; time_period 201718 = destinations
    cam = df.filter((pl.col("source") == "ees_ks4_destinations") & (pl.col("geography_code") == "202")
                    & (pl.col("leaving_year") == "2016-17"))
    assert one(cam, measure="cohort")["value"] == 1485 and one(cam, measure="education")["value"] == 1354
    assert one(cam, measure="cohort")["geography_level"] == "la"
    # districts inside counties (and abolished unitaries) stay districts; metropolitan and
    # London boroughs are whole LAs
    lad = df.filter(pl.col("geography_level") == "lad")["geography_code"]
    assert lad.str.starts_with("E07").any() and not lad.str.contains("^E0[89]").any()
    l3 = one(df, source="ees_1618_destinations", geography_code="202", leaving_year="2018-19",
             breakdown="Level 3", measure="cohort")
    assert l3["value"] == 3383 and l3["period"] == "201920"


def test_lait(others):
    df = others.measures.filter(pl.col("source") == "lait")
    cam = one(df, geography_code="202", period="2022", measure="education_pct")
    assert cam["value"] == 94.5 and cam["leaving_year"] == "2021-22"
    assert one(df, geography_code="E92000001", period="2022", breakdown="Total",
               measure="positive_pct")["value"] == 92.1
    assert one(df, geography_code="E92000001", period="2025", measure="neet_pct")["value"] == 3.4
    assert df.filter(pl.col("value_flag") == "-").height == 0   # '-' = missing, not a figure


def test_gias(others):
    links = others.tables["gias_links"]
    r = links.filter(pl.col("urn") == "142711").row(0, named=True)
    assert r["link_urn"] == "124406" and r["link_type"] == "Predecessor"
    assert str(r["link_established_date"]) == "2016-04-01"
    assert others.tables["gias_establishment_types"].height == 50
    assert others.tables["gias_establishments"]["urn"].to_list() == ["100000", "100004"]


@pytest.mark.parametrize("key,kind", [("ks4_old_202223", "ees_ks4"), ("ks4_new", "ees_ks4"),
                                      ("ks4_old_202021", "ees_ks4"), ("lad_ks4", "ees_lad"),
                                      ("pt_ks4_2425", "perf_tables_ks4"), ("pt_ks5_2425", "perf_tables_ks5"),
                                      ("nccis_2021", "nccis_la_dashboard"), ("lait", "lait_long"),
                                      ("gias_links", "gias_links"), ("pt_ks4_meta", "perf_tables_meta")])
def test_recognised_by_content_not_name(tmp_path, key, kind):
    dst = tmp_path / ("renamed" + real(key).suffix)
    dst.symlink_to(real(key))
    assert recognise(dst) == kind


def test_longer_term_destinations_institution_level():
    from pipelines.lib.benchmarks.ltd import read_ltd
    assert recognise(real("ltd")) == "ees_ltd"
    df = read_ltd(real("ltd"), "ltd/data.parquet").measures()
    qe = df.filter((pl.col("geography_code") == "139937") & (pl.col("breakdown") == "Disadvantaged")
                   & (pl.col("destination_year") == "2019-20"))   # year 5 after KS4 in 2014-15
    got = {m: one(qe, measure=m)["value"] for m in ("cohort", "positive", "apprenticeship", "employment",
                                                     "not_sustained")}
    assert got == {"cohort": 35, "positive": 21, "apprenticeship": 3, "employment": 17, "not_sustained": 14}
    r = one(qe, measure="positive")
    assert r["leaving_year"] == "2014-15" and r["la_code"] == "937" and r["geography_level"] == "school"
    assert one(qe, measure="education")["value"] == 1 and "c" in set(df["value_flag"].drop_nulls())
