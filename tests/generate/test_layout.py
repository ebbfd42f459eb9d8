from __future__ import annotations

import os
import re
from datetime import date, datetime, timezone

import polars as pl

from pipelines.lib.generate.trust import due_date

LAYOUT = re.compile(r"raw/returns/(\d{6})/(\d{4}-\d{2})/(R[123])/([^/]+\.(csv|xlsx))")


def _files(out):
    return sorted(p for p in (out / "raw" / "returns").rglob("*") if p.is_file())


def test_landing_layout_paths(small_trust):
    out, summary = small_trust
    reg = pl.read_csv(out / "raw" / "academies.csv", infer_schema=False)
    files = _files(out)
    assert len(files) == summary["files_written"]
    seen = set()
    for p in files:
        m = LAYOUT.fullmatch(p.relative_to(out).as_posix())
        assert m, p
        urn, year, rnd = m.group(1), m.group(2), m.group(3)
        assert urn in set(reg["urn"])
        assert year in summary["leaving_years"] + [summary["current_year"]]
        if year == summary["current_year"]:
            assert rnd == "R1"
        seen.add((urn, year, rnd))
    assert summary["leaving_years"] == ["2022-23", "2023-24", "2024-25", "2025-26"]
    assert summary["current_year"] == "2026-27"
    # Each past year has R1, R2 and R3 for (almost) every academy in the trust.
    for y in summary["leaving_years"]:
        for r in ("R1", "R2", "R3"):
            assert sum(1 for k in seen if k[1] == y and k[2] == r) >= 9
    # Current year: some academies have submitted R1, some not yet.
    cur = {k[0] for k in seen if k[1] == "2026-27"}
    assert 0 < len(cur) < reg.height
    assert not (out / "raw" / "_truth").exists() and (out / "_truth" / "pupils.parquet").exists()


def test_recent_joiners_only_have_returns_after_joining(small_trust):
    out, _ = small_trust
    reg = pl.read_csv(out / "raw" / "academies.csv", infer_schema=False)
    for urn, joined in zip(reg["urn"], reg["joined_trust"]):
        years = sorted(p.name for p in (out / "raw" / "returns" / urn).iterdir()) \
            if (out / "raw" / "returns" / urn).exists() else []
        for y in years:
            assert due_date(int(y[:4]), "R1") >= date.fromisoformat(joined)
    smithills = reg.filter(pl.col("joined_trust") == "2025-09-01")["urn"][0]
    assert sorted(p.name for p in (out / "raw" / "returns" / smithills).iterdir()) == ["2025-26", "2026-27"]


def test_one_round_missing_and_a_few_late_files(small_trust):
    out, _ = small_trust
    files = _files(out)
    by_key = {}
    for p in files:
        urn, year, rnd = p.relative_to(out / "raw" / "returns").parts[:3]
        by_key[(urn, year, rnd)] = p
    # exactly one academy x past year has R1 and R3 but no R2
    gaps = [(u, y) for (u, y, r) in by_key if r == "R1" and (u, y, "R3") in by_key
            and (u, y, "R2") not in by_key]
    assert len(gaps) == 1
    late, on_time = [], 0
    today = datetime(2026, 11, 25, tzinfo=timezone.utc)
    for (u, y, r), p in by_key.items():
        mtime = datetime.fromtimestamp(os.stat(p).st_mtime, tz=timezone.utc)
        assert mtime < today
        due = due_date(int(y[:4]), r)
        if mtime.date() > due:
            late.append((u, y, r))
        else:
            on_time += 1
    assert 1 <= len(late) <= 4
    assert on_time > 100


def test_dates_ascertained_fall_in_the_round_window(small_trust):
    out, _ = small_trust
    p = pl.read_parquet(out / "_truth" / "pupils.parquet").with_columns(
        pl.col("date_ascertained").str.to_date(), pl.col("leaving_year").str.slice(0, 4).cast(pl.Int32).alias("y"))
    r3 = p.filter(pl.col("round") == "R3")
    assert (r3["date_ascertained"].dt.year() == r3["y"] + 1).all()
    assert r3["date_ascertained"].dt.month().is_in([9, 10, 11]).all()
    r1 = p.filter(pl.col("round") == "R1")
    assert ((r1["date_ascertained"].dt.year() == r1["y"]) & r1["date_ascertained"].dt.month().is_in([9, 10, 11, 12])).all()
    r2 = p.filter(pl.col("round") == "R2")
    assert r2["date_ascertained"].dt.month().is_in([1, 2, 3, 4, 5]).all()
    # never after the file was submitted
    sub = p["submitted_at"].str.slice(0, 10).str.to_date()
    assert (p["date_ascertained"] < sub).all()
