"""NCCIS LA NEET and participation scorecard data (`UD_NEETNK_LA_dashboard_*.csv`).

time_period is the calendar year in which the December-February averaging window ends
(2025 = end of Dec 2024, Jan and Feb 2025), i.e. academic year 2024-25. The September
Guarantee column in the same file is the offer rate of the previous September (2024 offers,
for the 2023-24 Year 11 leavers)."""
from __future__ import annotations

from pathlib import Path

from .common import (
    CAVEATS, ENGLAND, REGION_CODES, BenchmarkFileError, ReadResult, make_row, parse_value,
    read_csv_rows, year_label,
)

# column (lower case) -> (measure, breakdown_topic, breakdown, caveat key)
MEASURES = {
    "cohort_djfavg": ("cohort", "Total", "Total", "nccis"),
    "neet_not_known_percent": ("neet_not_known_pct", "Total", "Total", "nccis"),
    "neet_percent": ("neet_pct", "Total", "Total", "nccis"),
    "notknown_percent": ("not_known_pct", "Total", "Total", "nccis"),
    "total_participating_in_education_and_training_percent": ("participation_pct", "Total", "Total", "nccis_participation"),
    "full_time_education_percent": ("participation_full_time_education_pct", "Total", "Total", "nccis_participation"),
    "apprenticeship_percent": ("participation_apprenticeship_pct", "Total", "Total", "nccis_participation"),
    "other_education_and_training_percent": ("participation_other_pct", "Total", "Total", "nccis_participation"),
    "neet_nk_nosen_percent": ("neet_not_known_pct", "SEN provision", "No SEN", "nccis"),
    "neet_nk_ehcp_percent": ("neet_not_known_pct", "SEN provision", "EHC plan", "nccis"),
    "neet_nk_sendsupport_percent": ("neet_not_known_pct", "SEN provision", "SEN support", "nccis"),
    "cohort_nosen_percent": ("cohort_share_pct", "SEN provision", "No SEN", "nccis"),
    "cohort_ehcp_percent": ("cohort_share_pct", "SEN provision", "EHC plan", "nccis"),
    "cohort_sendsupport_percent": ("cohort_share_pct", "SEN provision", "SEN support", "nccis"),
    "vg_neet_nk_percentage": ("neet_not_known_pct", "Vulnerable group", "Vulnerable group", "nccis"),
    "september_guarantee_offer_made_percent": ("september_guarantee_offer_pct", "Total", "Total", "sept_guarantee"),
}


def read_nccis(path: Path, rel: str) -> ReadResult:
    header, rows = read_csv_rows(path)
    res = ReadResult(kind="nccis_la_dashboard")
    if not rows:
        raise BenchmarkFileError(f"{rel}: NCCIS scorecard header but no rows")
    cols = {h.lower(): h for h in header}
    periods = sorted({r["time_period"] for r in rows if r.get("time_period", "").isdigit()})
    if not periods:
        raise BenchmarkFileError(f"{rel}: no calendar-year time_period (expected e.g. 2025)")
    publication = f"NCCIS LA NEET and participation scorecard {periods[-1]}"
    order = int(periods[-1]) * 10
    for r in rows:
        p = r.get("time_period", "")
        if not p.isdigit():
            continue
        year = int(p)
        level = r.get("geographic_level", "").strip().lower()
        if level == "national":
            geo = ("national", r.get("country_code") or ENGLAND, "England", None)
        elif level == "regional":
            name = r.get("region_name", "")
            geo = ("regional", r.get("region_code") or REGION_CODES.get(name.lower(), name), name, None)
        elif level == "local authority":
            la = r.get("old_la_code", "").strip()
            geo = ("la", la, r.get("la_name"), la)
        else:
            continue
        for low, (measure, topic, breakdown, cav) in MEASURES.items():
            if low not in cols:
                continue
            value, suppressed, flag, keep = parse_value(r.get(cols[low]))
            if not keep:
                continue
            sg = measure == "september_guarantee_offer_pct"
            res.rows.append(make_row(
                source="nccis_neet", publication=publication,
                leaving_year=year_label(year - 2) if sg else None, period=p,
                destination_year=year_label(year - 2 + 1) if sg else year_label(year - 1),
                geography_level=geo[0], geography_code=geo[1], geography_name=geo[2], la_code=geo[3],
                key_stage=None, institution_group=None, breakdown_topic=topic, breakdown=breakdown,
                measure=measure, value=value, suppressed=suppressed, value_flag=flag,
                version="Final", methodology="NCCIS", publication_order=order,
                caveat=CAVEATS[cav], source_file=rel))
    return res
