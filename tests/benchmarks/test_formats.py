"""Format drift (realdata.md §3) on small hand-made files, bad input, and the shipped seed."""
from __future__ import annotations

import polars as pl
import pytest

from pipelines.lib.benchmarks import load_seed, parse_value, recognise, scan_benchmarks, trust_breakdown
from pipelines.lib.benchmarks.common import COLUMNS, decode_bytes, frame
from pipelines.lib.benchmarks.ees import is_new_ks4_format

from .conftest import one

NO_SEED = frame([])
OLD_HEADER = ("time_period,time_identifier,geographic_level,country_code,country_name,institution_group,"
              "institution_type,breakdown_topic,breakdown,data_type,version,inst_count,cohort,overall,education,"
              "fe,ssf,sfc,other_edu,ind,appru,special,spi,edu_combo,he,appren,appl3,appl2,all_work,all_notsust,"
              "notsust,notsust_beneet,only_beneet,all_unknown,unknown_id,unknown")
NEW_HEADER = OLD_HEADER.replace("notsust_beneet,only_beneet", "notsust_ben,only_ben")


def _ees_row(tp, group, topic, bd, dtype, version, cohort, overall):
    vals = [tp, "Academic year", "National", "E92000001", "England", group, "Total", topic, bd, dtype, version,
            "z", cohort, overall] + ["1.0"] * 22
    return ",".join(vals)


@pytest.mark.parametrize("text,expected", [
    ("81%", (81.0, False, None, True)), (" 7 ", (7.0, False, None, True)), ("1,234", (1234.0, False, None, True)),
    ("c", (None, True, "c", True)), ("low", (None, True, "low", True)), ("SUPP", (None, True, "SUPP", True)),
    ("SP", (None, True, "SP", True)), ("SN", (None, True, "SN", True)),
    ("z", (None, False, "z", False)), ("x", (None, False, "x", False)), ("NA", (None, False, "NA", False)),
    ("-", (None, False, "-", False)), ("", (None, False, None, False)),
])
def test_suppression_tokens_and_percent_strings(text, expected):
    assert parse_value(text) == expected


def test_bom_and_cp1252():
    assert decode_bytes("\ufefftime_period,x".encode("utf-8")) == "time_period,x"
    assert decode_bytes("Academy converter – mainstream".encode("cp1252")) == "Academy converter – mainstream"
    assert decode_bytes(b"\xef\xbb\xbfVariable,Label \x96 x") == "Variable,Label – x"


@pytest.mark.parametrize("topic,bd,expected", [
    ("Gender", "Male", ("Sex", "Male")), ("Sex", "Female", ("Sex", "Female")),
    ("Disadvantage Status", "Not disadvantaged", ("Disadvantage", "Not disadvantaged")),
    ("SEN Provision", "School Action/SEN support", ("SEN provision", "SEN support")),
    ("SEN Provision", "SEN support", ("SEN provision", "SEN support")),
    ("SEN Provision", "Statement of SEN/Education Health and Care plan", ("SEN provision", "EHC plan")),
    ("SEN Provision", "No identified SEN", ("SEN provision", "No SEN")),
    ("Disadvantage Status and Gender", "Not Disadvantaged Female", ("Disadvantage and sex", "Not disadvantaged Female")),
    ("Disadvantage Status and Sex", "Disadvantaged Male", ("Disadvantage and sex", "Disadvantaged Male")),
    ("Ethnicity Major", "Mixed Dual background", ("Ethnicity major", "Mixed Dual background")),
    ("Total", "Total", ("Total", "Total")),
])
def test_breakdown_names(topic, bd, expected):
    assert trust_breakdown(topic, bd) == expected


def test_time_period_meaning_and_vintages(tmp_path):
    """Same cohort in both formats: the pre-2025 file says 202223, the 2025 file 202122."""
    root = tmp_path / "benchmarks"
    (root / "a").mkdir(parents=True)
    (root / "a" / "old.csv").write_bytes(("\ufeff" + OLD_HEADER + "\n" + "\n".join([
        _ees_row("202223", "State-funded mainstream & special schools", "Disadvantage Status", "Disadvantaged",
                 "Percentage", "Revised", "155078", "86.2"),
        _ees_row("202223", "State-funded mainstream & special schools", "Gender", "Male",
                 "Number of pupils", "Revised", "300000", "c"),
    ]) + "\n").encode("utf-8"))
    (root / "new.csv").write_text(NEW_HEADER + "\n" + "\n".join([
        _ees_row("202122", "Total state-funded mainstream and special", "Disadvantage Status", "Disadvantaged",
                 "Percentage", "Revised", "155078", "84.5"),
        _ees_row("202223", "Total state-funded mainstream and special", "Sex", "Male",
                 "Number of students", "Provisional", "310000", "280000"),
    ]) + "\n", encoding="utf-8")
    df = scan_benchmarks(root, seed=NO_SEED).measures
    dis = df.filter((pl.col("breakdown") == "Disadvantaged") & (pl.col("measure") == "positive_pct"))
    assert dis["leaving_year"].to_list() == ["2021-22", "2021-22"]
    assert dict(dis.select("value", "is_latest").rows()) == {84.5: True, 86.2: False}
    male = df.filter((pl.col("breakdown_topic") == "Sex") & (pl.col("measure") == "positive"))
    assert dict(male.select("leaving_year", "value").rows()) == {"2021-22": None, "2022-23": 280000.0}
    assert one(male, leaving_year="2021-22")["suppressed"] is True
    assert set(df["institution_group"]) == {"mainstream and special"}
    assert is_new_ks4_format(NEW_HEADER.split(","), []) and not is_new_ks4_format(OLD_HEADER.split(","), [])


def test_garbage_is_reported_not_fatal(tmp_path):
    root = tmp_path / "benchmarks"
    (root / "deep" / "er").mkdir(parents=True)
    (root / "notes.csv").write_text("this,is\nnot,a benchmark\n")
    (root / "deep" / "er" / "junk.xlsx").write_bytes(b"PK\x03\x04\x00\x00garbage")
    (root / "broken.parquet").write_bytes(b"PAR1 not really")
    (root / "empty.csv").write_bytes(b"")
    (root / "header_only_nccis.csv").write_text(
        "time_period,geographic_level,NEET_not_known_percent,NEET_percent,Notknown_percent\n")
    (root / ".hidden.csv").write_text("ignored")
    res = scan_benchmarks(root, seed=NO_SEED)
    status = {f.file: f.status for f in res.files}
    assert status == {"notes.csv": "unrecognised", "deep/er/junk.xlsx": "unrecognised",
                      "broken.parquet": "unrecognised", "empty.csv": "unrecognised",
                      "header_only_nccis.csv": "failed"}
    assert res.measures.height == 0 and res.measures.columns == COLUMNS
    assert any("notes.csv" in w and "not a recognised benchmark file" in w for w in res.warnings)
    assert any("header_only_nccis.csv" in w and "no rows" in w for w in res.warnings)
    assert set(res.tables) == {"gias_links", "gias_establishments", "gias_establishment_types"}


def test_seed_shipped_and_complete():
    seed = load_seed()
    assert 300 <= seed.height <= 2000
    assert seed.columns == COLUMNS
    assert set(seed["source"]) == {"ees_ks4_destinations", "performance_tables_1618", "nccis_neet"}
    assert seed["caveat"].null_count() == 0 and seed["publication"].null_count() == 0
    # the seed alone already answers the headline questions
    r = one(seed, source="ees_ks4_destinations", leaving_year="2022-23", institution_group="mainstream and special",
            breakdown="Disadvantaged", measure="positive_pct", is_latest=True)
    assert r["value"] == 83.1
    e = one(seed, source="nccis_neet", geography_level="national", period="2025", breakdown="Total",
            measure="neet_not_known_pct")
    assert e["value"] == 5.6
    assert seed.filter((pl.col("source") == "nccis_neet") & (pl.col("geography_level") == "la")
                       & (pl.col("measure") == "neet_not_known_pct"))["geography_code"].n_unique() >= 150
    scanned = scan_benchmarks(seed=seed, root=__import__("pathlib").Path("/nonexistent")).measures
    assert scanned.height == seed.height


def test_recognise_ignores_file_names(tmp_path):
    p = tmp_path / "england_ks4-pupdest.csv"   # a DfE name, but not DfE content
    p.write_text("a,b\n1,2\n")
    assert recognise(p) is None
