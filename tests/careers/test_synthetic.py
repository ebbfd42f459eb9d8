"""The synthetic FSQ / Compass generator: deterministic, valid, and readiness drives FSQ answers."""
from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines.lib.careers.compass import validate_compass_batch
from pipelines.lib.careers.fsq import validate_fsq_batch
from pipelines.lib.careers.synthetic import generate_careers_data
from pipelines.lib.upn import upn_problem
from tests.careers import handmade


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "_truth" not in p.parts}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("syn")
    stats = generate_careers_data(root / "a", handmade.academies(), handmade.leavers(), seed=11, scale="small")
    return root, stats


def test_deterministic_by_seed(generated, tmp_path):
    root, stats = generated
    again = generate_careers_data(tmp_path / "b", handmade.academies(), handmade.leavers(), seed=11, scale="small")
    assert again == stats
    assert _digest(root / "a") == _digest(tmp_path / "b")
    other = generate_careers_data(tmp_path / "c", handmade.academies(), handmade.leavers(), seed=12, scale="small")
    assert _digest(tmp_path / "c") != _digest(root / "a") and other["fsq_files"] == stats["fsq_files"]


def _load(root: Path):
    fsq_files = sorted((root / "raw" / "fsq").rglob("*.*"))
    fsq = validate_fsq_batch([(p.read_bytes(), p.name, p.parent.parent.name, p.parent.name) for p in fsq_files],
                             {"140001", "140002", "140003"}, today=date(2026, 11, 25))
    comp_files = sorted((root / "raw" / "compass").rglob("*.*"))
    comp = validate_compass_batch([(p.read_bytes(), p.name, p.parent.name) for p in comp_files],
                                  {"140001", "140002", "140003"}, today=date(2026, 11, 25))
    return fsq, comp


def test_files_are_valid_and_cover_leavers(generated):
    root, _ = generated
    fsq, comp = _load(root / "a")
    assert {r.layout for r in fsq} == {"long", "wide"}
    assert {Path(r.file).suffix for r in fsq} == {".csv", ".xlsx"}
    assert not [r.file for r in fsq + comp if r.rejected]
    assert not [p.line() for r in fsq + comp for p in r.problems if p.severity == "error"]
    rows = pl.concat([r.rows for r in fsq])
    assert all(upn_problem(u) is None for u in rows["upn"].unique().to_list())
    # every leaver is in the Year 11 / 13 survey of their leaving year, at their academy
    lv = handmade.leavers()
    final = rows.filter(pl.col("year_group").is_in([11, 13])).select(
        "academy_urn", "upn", pl.col("academic_year").alias("leaving_year")).unique()
    missing = lv.join(final, on=["academy_urn", "upn", "leaving_year"], how="anti")
    assert missing.height == 0
    # non-leavers' UPNs use serials >= 900
    others = rows.filter(~pl.col("upn").is_in(lv["upn"].to_list()))["upn"].unique()
    assert others.len() > 0 and (others.str.slice(10, 3).cast(int) >= 900).all()
    assert set(rows["year_group"].unique()) == set(range(7, 14))
    # completion ~70-85%
    per = rows.group_by("source_file", "upn").agg(pl.col("response").is_not_null().any().alias("r"))
    assert 0.65 <= per["r"].mean() <= 0.9


def test_readiness_drives_positivity_and_levels(generated):
    root, _ = generated
    fsq, _ = _load(root / "a")
    rows = pl.concat([r.rows for r in fsq]).filter(pl.col("response").is_not_null())
    lv = handmade.leavers().select("upn", "readiness")
    per = (rows.filter(pl.col("construct").is_in(["career_knowledge", "career_readiness"]))
           .group_by("upn").agg(pl.col("is_positive").mean().alias("pos")).join(lv, on="upn"))
    assert per.height > 200
    assert np.corrcoef(per["pos"], per["readiness"])[0, 1] > 0.35
    # national-like: Year 11 'thought about pathways' (CK01) around 83%, Year 7 well below
    y = rows.filter(pl.col("item_id") == "CK01").group_by("year_group").agg(pl.col("is_positive").mean())
    share = dict(y.iter_rows())
    assert 0.7 <= share[11] <= 0.92 and share[7] < share[11] - 0.15


def test_compass_levels_and_framework(generated):
    root, _ = generated
    _, comp = _load(root / "a")
    rows = pl.concat([r.rows for r in comp]).filter(pl.col("criterion").is_null())
    assert (rows.filter(pl.col("framework_version") == "2025")["evaluation_date"] >= date(2025, 9, 1)).all()
    assert (rows.filter(pl.col("framework_version") == "2018")["evaluation_date"] < date(2025, 9, 1)).all()
    per_eval = rows.group_by("academy_urn", "evaluation_date", "academic_year").agg(
        (pl.col("percent_achieved") == 100).sum().alias("achieved"))
    by_year = dict(per_eval.group_by("academic_year").agg(pl.col("achieved").mean()).iter_rows())
    assert 3.0 <= by_year["2022-23"] <= 7.5 and by_year["2024-25"] >= by_year["2021-22"]
    assert (per_eval.group_by("evaluation_date").len()["len"] >= 1).all()
    # BM6 (workplace experiences) is among the hardest under the 2018 framework in 2024-25
    late = rows.filter((pl.col("academic_year") == "2024-25"))
    bm = dict(late.group_by("benchmark").agg((pl.col("percent_achieved") == 100).mean()).iter_rows())
    assert bm[6] <= sorted(bm.values())[3]
