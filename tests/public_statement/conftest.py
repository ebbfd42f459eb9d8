"""A small real warehouse: a special school with 15 leavers and a secondary with a sixth form,
built by dbt up to the public statement and similar-schools marts, published to Parquet."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from tests.marts.helpers import academy, load_benchmarks, load_raw, pupil_row, run_dbt

REPO = Path(__file__).resolve().parents[2]
SPECIAL, SECONDARY = "100015", "100200"
PUPDEST = "calvinchankf__uk_schools/data_2024-2025/england_ks4-pupdest.csv"
STUDEST = "calvinchankf__uk_schools/data_2024-2025/england_ks5-studest.csv"


def shared_data() -> Path | None:
    for base in (REPO.parent, REPO.parent.parent):  # ../shared (CI), or beside a worktree folder
        d = base / "shared" / "research" / "data"
        if d.is_dir():
            return d
    return None


def _pupils(urn: str, year: str, ks4: dict[str, int], ks5: dict[str, int] | None = None) -> list[dict]:
    rows, i = [], 0
    for yg, mix in ((11, ks4), (13, ks5 or {})):
        for code, n in mix.items():
            for _ in range(n):
                i += 1
                rows.append(pupil_row(academy_urn=urn, leaving_year=year, round="R3", year_group=yg,
                                      upn=f"U{urn}{year[:4]}{i:05d}", destination_code=code,
                                      sex="F" if i % 2 else "M", disadvantaged=i % 3 == 0,
                                      source_row=i + 1))
    return rows


@dataclass
class Built:
    warehouse: Path
    serving: Path
    root: Path


@pytest.fixture(scope="session")
def public_built(tmp_path_factory) -> Built:
    from pipelines.lib.dbt_manifest import mart_models
    from pipelines.lib.publish import publish_tables

    root = tmp_path_factory.mktemp("public")
    wh = root / "warehouse" / "warehouse.duckdb"
    pupils = []
    for year in ("2023-24", "2024-25"):
        # special school, 15 leavers: 3 sixth form, 8 FE, 2 apprenticeships, 2 NEET
        pupils += _pupils(SPECIAL, year, {"210": 3, "230": 8, "310": 2, "540": 2})
        # secondary: 120 KS4 leavers, 60 16-18 leavers
        pupils += _pupils(SECONDARY, year, {"210": 60, "230": 30, "220": 12, "310": 8, "320": 5, "540": 4, "810": 1},
                          {"240": 30, "230": 6, "310": 8, "320": 10, "540": 6})
    spec = academy(SPECIAL, name="Brook Special Academy")
    spec.update(phase="special", has_sixth_form=False)
    load_raw(wh, pupils, [spec, academy(SECONDARY, name="Hill Top Academy")])
    bench_root = root / "benchmark_files"
    bench_root.mkdir()
    data = shared_data()
    if data is not None and (data / PUPDEST).exists():
        shutil.copy(data / PUPDEST, bench_root / "england_ks4-pupdest.csv")
        shutil.copy(data / STUDEST, bench_root / "england_ks5-studest.csv")
    load_benchmarks(wh, bench_root)
    run_dbt(wh, "build", "--select", "+public_destination_statement +similar_schools_comparison",
            "--exclude", "test_type:unit")
    serving = root / "serving"
    publish_tables(wh, serving, [m for m in mart_models() if m in {
        "public_destination_statement", "similar_schools", "similar_schools_comparison",
        "destination_measures_published", "benchmark_national_comparison_published"}])
    return Built(wh, serving, root)


@pytest.fixture(scope="session")
def statements_dir(public_built: Built) -> Path:
    from pipelines.lib.public.statement import write_statements
    out = public_built.root / "web"
    write_statements(public_built.serving, "2024-25", out, "Test Learning Trust")
    return out
