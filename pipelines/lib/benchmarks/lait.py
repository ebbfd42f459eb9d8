"""DfE LA Interactive Tool 'big data set' in long format (`bds_long_*.parquet` or CSV).

Only the destination and NEET indicators are read. KS4 indicators use the 2025 EES values
(checked: `SusEdOverall_All` England 2022 = 92.1 = the 2025-format figure for 2021-22
leavers, state-funded mainstream and special), so `Years` 2022 means the 2021-22 leavers.
"""
from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from .common import CAVEATS, ENGLAND, REGION_CODES, ReadResult, make_row, parse_value, year_label

# Short Desc -> (measure, key_stage, breakdown_topic, breakdown, kind)
INDICATORS = {
    "SusEdOverall_All": ("positive_pct", "KS4", "Total", "Total", "ks4"),
    "SusEd_All": ("education_pct", "KS4", "Total", "Total", "ks4"),
    "SusEdOverall_NoSEN_incSpec": ("positive_pct", "KS4", "SEN provision", "No SEN", "ks4"),
    "SusEdOverall_SEN_NoStat_incSpec": ("positive_pct", "KS4", "SEN provision", "SEN support", "ks4"),
    "SusEdOverall_SEN_Stat_incSpec": ("positive_pct", "KS4", "SEN provision", "EHC plan", "ks4"),
    "KS4_SEN_Des_incSpec": ("positive_pct", "KS4", "SEN provision", "Identified SEN", "ks4"),
    "KS4_DES_FEColl": ("further_education_pct", "KS4", "Total", "Total", "ks4"),
    "KS4_DES_6FormSchl": ("school_sixth_form_pct", "KS4", "Total", "Total", "ks4"),
    "KS4_DES_6FormColl": ("sixth_form_college_pct", "KS4", "Total", "Total", "ks4"),
    "KS4_DES_Apprentice": ("apprenticeship_pct", "KS4", "Total", "Total", "ks4"),
    "KS4_DES_NotSus": ("not_sustained_pct", "KS4", "Total", "Total", "ks4"),
    "16-17 NEET": ("neet_pct", None, "Total", "Total", "neet"),
    "16-17_not known_NEET": ("neet_not_known_pct", None, "Total", "Total", "neet"),
    "Sept_Guarantee": ("september_guarantee_offer_pct", None, "Total", "Total", "sg"),
}
LAIT_COLUMNS = ["Short Desc", "Years", "LA and Regions", "Values", "LA Number"]


def read_lait(path: Path, rel: str) -> ReadResult:
    res = ReadResult(kind="lait_long")
    if path.suffix.lower() == ".parquet":
        lf = pl.scan_parquet(path)
    else:
        lf = pl.scan_csv(path, infer_schema=False, encoding="utf8-lossy")
    data = (lf.select(LAIT_COLUMNS)
            .filter(pl.col("Short Desc").is_in(list(INDICATORS)))
            .with_columns(pl.col("Years").cast(pl.Utf8), pl.col("Values").cast(pl.Utf8),
                          pl.col("LA Number").cast(pl.Float64, strict=False))
            .collect().rows())
    plain_years = [int(y) for (_, y, *_r) in data if re.fullmatch(r"\d{4}", str(y or ""))]
    latest = max(plain_years) if plain_years else 0
    publication = f"LAIT big data set to {latest}"
    for short, years, area, raw_value, la_number in data:
        if not re.fullmatch(r"\d{4}", str(years or "")):
            continue   # revised/provisional/multi-year labels are not the indicators' annual series
        y = int(years)
        measure, ks, topic, breakdown, kind = INDICATORS[short]
        geo = _geo(area, la_number)
        if geo is None:
            continue
        value, suppressed, flag, keep = parse_value(raw_value)
        if not keep:
            continue
        if kind == "ks4":
            leaving, dest, cav, group = year_label(y - 1), year_label(y), CAVEATS["dfe_sustained"], "mainstream and special"
        elif kind == "sg":
            leaving, dest, cav, group = year_label(y - 1), year_label(y), CAVEATS["sept_guarantee"], None
        else:
            leaving, dest, cav, group = None, year_label(y - 1), CAVEATS["nccis"], None
        res.rows.append(make_row(
            source="lait", publication=publication, leaving_year=leaving, period=str(years),
            destination_year=dest, geography_level=geo[0], geography_code=geo[1], geography_name=area,
            la_code=geo[2], key_stage=ks, institution_group=group, breakdown_topic=topic,
            breakdown=breakdown, measure=measure, value=value, suppressed=suppressed, value_flag=flag,
            version=None, methodology="2025 LEO employment" if kind == "ks4" else "NCCIS",
            publication_order=latest * 10, caveat=cav + " " + CAVEATS["lait"], source_file=rel))
    return res


def _geo(area: str, la_number: float | None):
    if la_number is None:
        return None
    n = int(la_number)
    if n == 970:
        return "national", ENGLAND, None
    if n >= 980:   # regions (987/988 are Inner/Outer London, no ONS region code)
        return "regional", REGION_CODES.get((area or "").strip().lower(), str(n)), None
    return "la", f"{n:03d}", f"{n:03d}"
