from __future__ import annotations

import re
from datetime import date

import numpy as np
import polars as pl

from pipelines.lib.generate.register import PHASES
from pipelines.lib.generate.upns import make_upns
from pipelines.lib.upn import LETTERS, is_temporary, make_upn, upn_problem


def test_vectorised_upns_match_the_reference_algorithm():
    rng = np.random.default_rng(0)
    la = rng.integers(200, 940, 500)
    estab = rng.integers(1000, 7999, 500)
    year2 = rng.integers(0, 99, 500)
    serial = rng.integers(0, 999, 500)
    got = make_upns(la, estab, year2, serial)
    want = [make_upn(int(a), int(b), int(c), int(d)) for a, b, c, d in zip(la, estab, year2, serial)]
    assert list(got) == want


def test_temporary_upns_are_valid_distinct_and_end_in_a_letter():
    serial = np.arange(0, 600)
    got = make_upns(np.full(600, 352), np.full(600, 4010), np.full(600, 21), serial,
                    np.ones(600, bool))
    assert all(upn_problem(u) is None for u in got)
    assert all(is_temporary(u) and u[-1] in LETTERS for u in got)
    assert len(set(got)) == 600
    perm = make_upns(np.full(600, 352), np.full(600, 4010), np.full(600, 21), serial)
    assert not set(got) & set(perm)


def test_register_has_contract_columns_and_values(small_trust):
    out, summary = small_trust
    reg = pl.read_csv(out / "raw" / "academies.csv", infer_schema=False)
    assert reg.columns[:6] == ["urn", "name", "la_code", "phase", "has_sixth_form", "joined_trust"]
    assert {"laestab", "estab_number"} <= set(reg.columns)
    assert reg.height == summary["academies"] == 12
    assert all(re.fullmatch(r"1[345]\d{4}", u) for u in reg["urn"])
    assert reg["urn"].n_unique() == reg.height
    assert all(re.fullmatch(r"\d{3}", c) for c in reg["la_code"])
    assert set(reg["phase"]) == set(PHASES)  # every phase present at small scale
    assert set(reg["has_sixth_form"]) == {"Y", "N"}
    assert (reg.filter(pl.col("phase") == "16-19")["has_sixth_form"] == "Y").all()
    joined = [date.fromisoformat(d) for d in reg["joined_trust"]]
    assert sum(d >= date(2024, 1, 1) for d in joined) in (1, 2)
    assert all(l[:3] == c and l[3:] == e for l, c, e in
               zip(reg["laestab"], reg["la_code"], reg["estab_number"]))
    assert reg.select(pl.concat_str("la_code", "estab_number")).to_series().n_unique() == reg.height
    assert reg["name"].n_unique() == reg.height


def test_academies_override_and_large_scale(tmp_path):
    from pipelines.lib.generate import generate_trust

    s = generate_trust(tmp_path / "a", academies=3, years=1, with_careers=False)
    reg = pl.read_csv(tmp_path / "a" / "raw" / "academies.csv", infer_schema=False)
    assert s["academies"] == reg.height == 3
    s = generate_trust(tmp_path / "b", academies=20, years=1, with_careers=False)
    reg = pl.read_csv(tmp_path / "b" / "raw" / "academies.csv", infer_schema=False)
    assert reg.height == 20 and reg["urn"].n_unique() == 20


def test_every_upn_in_every_file_is_valid_and_unique_per_round(small_trust):
    out, _ = small_trust
    pupils = pl.read_parquet(out / "_truth" / "pupils.parquet")
    upns = pupils["upn"].unique().to_list()
    assert all(upn_problem(u) is None for u in upns)
    n_temp = sum(is_temporary(u) for u in upns)
    assert 0 < n_temp < 0.02 * len(upns)
    dup = pupils.group_by("leaving_year", "round", "upn").len().filter(pl.col("len") > 1)
    assert dup.height == 0


def test_national_scale_path_writes_clean_csv_only(tmp_path):
    """National scale (here with few academies): every phase can occur, files are plain CSV."""
    from pipelines.lib.generate import generate_trust

    s = generate_trust(tmp_path, scale="national", academies=60, years=1, seed=4, with_careers=False)
    files = list((tmp_path / "raw" / "returns").rglob("*.*"))
    assert len(files) == s["files_written"] > 60
    assert all(f.name.startswith("destinations_") and f.suffix == ".csv" for f in files)
    assert all(f.read_bytes()[:3] == b"upn" for f in files)
    reg = pl.read_csv(tmp_path / "raw" / "academies.csv", infer_schema=False)
    assert reg["la_code"].n_unique() > 10
    pupils = pl.read_parquet(tmp_path / "_truth" / "pupils.parquet")
    assert pupils.group_by("leaving_year", "round", "upn").len()["len"].max() == 1
