"""Benchmark tests read the real public files in ../shared/research/data (skipped when absent).
Files are linked (never copied into the repository) into a temporary raw/benchmarks."""
from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = REPO_ROOT.parent / "shared" / "research" / "data"

F = {
    "ks4_old_202223": "dfe-analytical-services__lsip_dashboard/ks4_dm_ud_202223_nat_rev.csv",
    "ks4_old_202122": "dfe-analytical-services__SEND-AP-Inclusion-Dashboard/ks4_dm_ud_202122_nat_prov.csv",
    "ks4_old_202021": "dfe-analytical-services__SEND-AP-Inclusion-Dashboard/ks4_dm_ud_202021_nat_rev.csv",
    "ks4_new": "dfe-analytical-services__lsip_dashboard/ees_ks4_nat_202223.csv",
    "lad_ks4": "dfe-analytical-services__lsip_dashboard/data-key-stage-4-destination-measures.csv",
    "lad_1618": "dfe-analytical-services__lsip_dashboard/data-16-18-destination-measures.csv",
    "pt_ks4_2425": "calvinchankf__uk_schools/data_2024-2025/england_ks4-pupdest.csv",
    "pt_ks4_meta": "calvinchankf__uk_schools/metadata_2024-2025/ks4-pupdest_meta.csv",
    "pt_ks5_2425": "calvinchankf__uk_schools/data_2024-2025/england_ks5-studest.csv",
    "pt_ks5_meta": "calvinchankf__uk_schools/metadata_2024-2025/ks5-studest_meta.csv",
    "pt_ks4_1718": "KSPDeveloper__Data-Science-Files/england_ks4-pupdest.csv",
    "pt_ks5_1920": "MurrayChapman17__DSSS_Data/england_ks5-studest.csv",
    "nccis_2025": "dfe-analytical-services__nccis_localauthority_dashboard/UD_NEETNK_LA_dashboard_final.csv",
    "nccis_2024": "dfe-analytical-services__nccis_localauthority_dashboard/at-ee4b690/UD_NEETNK_LA_dashboard_final.csv",
    "nccis_2021": "dfe-analytical-services__nccis_localauthority_dashboard/UD_NEETNK_LA_dashboard_2021_vg_removed.csv",
    "lait": "dfe-analytical-services__local-authority-interactive-tool/bds_long_0.parquet",
    "gias_links": "MastodonC__witan.gias/links_edubasealldata20250422.csv",
    "gias_types": "MastodonC__witan.gias/edubasealldata20250422-establishment-types.csv",
    "gias_edubase": "JackFrostStudios__summer-born-info/ExampleImportFile.csv",
}


def real(key: str) -> Path:
    p = SHARED / F[key]
    if not p.exists():
        pytest.skip(f"public file not available: {p}")
    return p


def link_into(root: Path, *items: tuple[str, str]) -> Path:
    """Symlink real files into root/<target>; returns root."""
    for key, target in items:
        dst = root / target
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(real(key), dst)
    return root


def one(df: pl.DataFrame, **eq) -> dict:
    """The single row matching all column=value conditions."""
    sel = df
    for k, v in eq.items():
        sel = sel.filter(pl.col(k).is_null() if v is None else pl.col(k) == v)
    assert sel.height == 1, f"{sel.height} rows for {eq}:\n{sel.head(5)}"
    return sel.row(0, named=True)
F["ltd"] = "dfe-analytical-services__explore-education-statistics-api-mock/ltd_dm_201415_inst/data.parquet"
