from __future__ import annotations

import polars as pl

CHARACTERISTICS = ["academy_urn", "year_group", "sex", "disadvantaged", "sen_provision",
                   "fsm_eligible", "looked_after", "ethnicity", "consent_follow_up", "readiness"]


def test_same_characteristics_across_rounds(small_trust):
    out, _ = small_trust
    p = pl.read_parquet(out / "_truth" / "pupils.parquet")
    per = p.group_by("leaving_year", "upn").agg(
        [pl.col(c).n_unique().alias(c) for c in CHARACTERISTICS] + [pl.col("round").n_unique().alias("rounds")])
    assert (per.select(CHARACTERISTICS).max_horizontal() == 1).all()
    past = per.filter(pl.col("leaving_year") != "2026-27")
    # almost everyone is in all three rounds; a handful miss one
    full = (past["rounds"] == 3).mean()
    assert 0.96 < full < 0.999


def test_subset_rules_fsm_and_looked_after_imply_disadvantaged(small_trust):
    out, _ = small_trust
    lv = pl.read_parquet(out / "_truth" / "leavers.parquet")
    assert lv.filter(pl.col("fsm_eligible") & ~pl.col("disadvantaged")).height == 0
    assert lv.filter(pl.col("looked_after") & ~pl.col("disadvantaged")).height == 0
    assert lv.filter(pl.col("key_stage") == "KS4")["year_group"].unique().to_list() == [11]
    assert set(lv.filter(pl.col("key_stage") == "16-18")["year_group"].unique()) == {12, 13, 14}


def test_year13_leavers_are_largely_own_year11_sixth_formers(small_trust):
    out, _ = small_trust
    lv = pl.read_parquet(out / "_truth" / "leavers.parquet")
    reg = pl.read_csv(out / "raw" / "academies.csv", infer_schema=False)
    ks4 = lv.filter(pl.col("key_stage") == "KS4", pl.col("destination_code") == "210")
    y13 = lv.filter(pl.col("year_group") == 13, pl.col("leaving_year") == "2024-25")
    mainstream_sf = reg.filter(pl.col("has_sixth_form") == "Y", pl.col("joined_trust") < "2022-09-01",
                               pl.col("phase").is_in(["secondary", "all-through"]))["urn"]
    y13 = y13.filter(pl.col("academy_urn").is_in(mainstream_sf.to_list()))
    prior = ks4.filter(pl.col("leaving_year") == "2022-23").select(
        "upn", pl.col("academy_urn").alias("y11_urn"), pl.col("sex").alias("y11_sex"),
        pl.col("sen_provision").alias("y11_sen"), pl.col("ethnicity").alias("y11_eth"))
    j = y13.join(prior, on="upn", how="left")
    internal = j.filter(pl.col("y11_urn").is_not_null())
    assert 0.7 < internal.height / y13.height < 0.92
    assert (internal["y11_urn"] == internal["academy_urn"]).all()
    assert (internal["y11_sex"] == internal["sex"]).all()
    assert (internal["y11_sen"] == internal["sen_provision"]).all()
    assert (internal["y11_eth"] == internal["ethnicity"]).all()
    # the 16-19 free school has only external joiners
    sfc = reg.filter(pl.col("phase") == "16-19")["urn"][0]
    ext = lv.filter(pl.col("academy_urn") == sfc, pl.col("leaving_year") == "2024-25")
    assert ext.height > 100 and ext.join(ks4, on="upn", how="semi").height == 0


def test_truth_matches_the_clean_csv_files(small_trust):
    out, _ = small_trust
    p = pl.read_parquet(out / "_truth" / "pupils.parquet")
    src = p.filter(pl.col("source_file").str.ends_with(".csv") & pl.col("source_file").str.contains("/destinations_"))
    f = src["source_file"][0]
    got = pl.read_csv(out / f, infer_schema=False)
    want = src.filter(pl.col("source_file") == f)
    assert got.height == want.height
    assert got["upn"].to_list() == want["upn"].to_list()
    assert got["destination_code"].to_list() == want["destination_code"].to_list()
    assert got["disadvantaged"].to_list() == ["Y" if d else "N" for d in want["disadvantaged"]]


def test_special_and_alternative_provision_profiles(small_trust):
    out, _ = small_trust
    lv = pl.read_parquet(out / "_truth" / "leavers.parquet").filter(~pl.col("is_current"),
                                                                      pl.col("key_stage") == "KS4")
    reg = pl.read_csv(out / "raw" / "academies.csv", infer_schema=False)
    lv = lv.join(reg.select(pl.col("urn").alias("academy_urn"), "phase"), on="academy_urn")
    neg = pl.col("destination_code").cast(pl.Int32, strict=False).is_between(530, 830) | \
        pl.col("destination_code").is_in(["260"])
    by = {p: g for (p,), g in lv.group_by("phase")}
    ap, special, main = by["alternative provision"], by["special"], by["secondary"]
    assert 15 * 3 <= ap.height <= 45 * 5 and 12 * 3 <= special.height <= 28 * 5
    assert ap["disadvantaged"].mean() > 0.45
    assert ap.select(neg.mean()).item() > main.select(neg.mean()).item() + 0.10
    assert (special["sen_provision"] == "E").mean() >= 0.75
    assert 0.015 <= (main["sen_provision"] == "E").mean() <= 0.045
