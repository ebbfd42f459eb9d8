"""Explore Education Statistics (EES) destination-measure files.

- KS4 characteristics files, pre-2025 format `ks4_dm_ud_*` (time_period = destination year)
  and the 2025 format `ees_ks4_*` (time_period = year KS4 was completed; LEO-only employment).
- Table-tool extracts by local authority district, KS4 and 16-18 (counts, pre-2025 format).
"""
from __future__ import annotations

from pathlib import Path

from .common import (
    CAVEATS, ENGLAND, REGION_CODES, BenchmarkFileError, ReadResult, ees_period_start,
    institution_group, make_row, parse_value, read_csv_rows, trust_breakdown, year_label,
)

# EES column -> measure stem (the destination_measures names where the meaning matches)
KS4_MEASURES = {
    "overall": "positive", "education": "education", "fe": "further_education",
    "ssf": "school_sixth_form", "sfc": "sixth_form_college", "other_edu": "other_education",
    "he": "higher_education", "appren": "apprenticeship", "all_work": "employment",
    "all_notsust": "not_sustained", "all_unknown": "not_captured",
}
LAD_MEASURES = {"education": "education", "appren": "apprenticeship", "all_work": "employment",
                "all_notsust": "not_sustained", "all_unknown": "not_captured"}
VERSION_RANK = {"provisional": 1, "revised": 2, "final": 3}


def is_new_ks4_format(header: list[str], rows: list[dict]) -> bool:
    """2025 format: renamed columns (notsust_ben), 'students', the new institution group label."""
    cols = {h.lower() for h in header}
    if "notsust_ben" in cols or "only_ben" in cols:
        return True
    if "notsust_beneet" in cols or "only_beneet" in cols:
        return False
    sample = rows[:200]
    return any("students" in r.get("data_type", "").lower()
               or r.get("institution_group", "").lower().startswith("total state-funded") for r in sample)


def _geography(r: dict) -> tuple[str, str, str | None, str | None] | None:
    level = r.get("geographic_level", "").strip().lower()
    if level == "national":
        return "national", r.get("country_code") or ENGLAND, r.get("country_name") or "England", None
    if level == "regional":
        name = r.get("region_name", "")
        return "regional", r.get("region_code") or REGION_CODES.get(name.lower(), name), name, None
    if level == "local authority":
        la = (r.get("old_la_code") or "").strip()
        return "la", la or r.get("new_la_code", ""), r.get("la_name"), la or None
    return None


def read_ees_ks4(path: Path, rel: str) -> ReadResult:
    header, rows = read_csv_rows(path)
    new = is_new_ks4_format(header, rows)
    kind = "ees_ks4_2025" if new else "ees_ks4_pre2025"
    res = ReadResult(kind=kind)
    if not rows:
        raise BenchmarkFileError(f"{rel}: EES KS4 destinations header but no data rows")
    # label drift: characteristic_group/characteristic (2020/21) -> breakdown_topic/breakdown
    topic_col = "breakdown_topic" if "breakdown_topic" in header else "characteristic_group"
    bd_col = "breakdown" if "breakdown" in header else "characteristic"
    periods = sorted({r["time_period"] for r in rows if r.get("time_period", "").isdigit()})
    if not periods:
        raise BenchmarkFileError(f"{rel}: no academic-year time_period values (expected e.g. 202223)")
    latest = periods[-1]
    latest_versions = {r.get("version", "").strip().lower() for r in rows if r["time_period"] == latest}
    version = "revised" if "revised" in latest_versions else (latest_versions.pop() if latest_versions else "")
    shift = 0 if new else -1          # leaving year = time_period (2025) or time_period - 1 (pre-2025)
    dest_end = ees_period_start(latest) + shift + 2
    publication = (f"EES KS4 destination measures {year_label(ees_period_start(latest) + shift)} leavers, "
                   f"{version or 'unknown version'} ({'2025' if new else 'pre-2025'} format)")
    order = dest_end * 10 + VERSION_RANK.get(version, 0)
    methodology = "2025 LEO employment" if new else "pre-2025"
    caveat = CAVEATS["dfe_sustained"] + (" " + CAVEATS["dfe_2025"] if new else "")
    skipped_geo = 0
    for r in rows:
        if "institution_type" in r and r["institution_type"].strip().lower() not in ("total", ""):
            continue  # institution-type splits are not comparable with a trust
        group = institution_group(r.get("institution_group", ""))
        geo = _geography(r)
        if geo is None or group is None:
            skipped_geo += 1
            continue
        try:
            start = ees_period_start(r["time_period"]) + shift
        except ValueError:
            continue
        topic, breakdown = trust_breakdown(r.get(topic_col, ""), r.get(bd_col, ""))
        is_pct = r.get("data_type", "").strip().lower().startswith("percent")
        base = dict(source="ees_ks4_destinations", publication=publication,
                    leaving_year=year_label(start), period=r["time_period"],
                    destination_year=year_label(start + 1), geography_level=geo[0],
                    geography_code=geo[1], geography_name=geo[2], la_code=geo[3], key_stage="KS4",
                    institution_group=group, breakdown_topic=topic, breakdown=breakdown,
                    version=r.get("version") or None, methodology=methodology,
                    publication_order=order, caveat=caveat, source_file=rel)
        items = [("cohort", r.get("cohort"))] if not is_pct else []
        items += [(m + ("_pct" if is_pct else ""), r.get(col)) for col, m in KS4_MEASURES.items() if col in r]
        for measure, cell in items:
            value, suppressed, flag, keep = parse_value(cell)
            if keep:
                res.rows.append(make_row(**base, measure=measure, value=value,
                                         suppressed=suppressed, value_flag=flag))
    if skipped_geo:
        res.warnings.append(f"{rel}: {skipped_geo} rows with an unrecognised geography or institution group skipped")
    return res


def read_ees_lad(path: Path, rel: str) -> ReadResult:
    """Table-tool extract by local authority district (counts, Total breakdown)."""
    header, rows = read_csv_rows(path)
    is_1618 = "cohort_level_group" in header or any(
        r.get("level_methodology", "").startswith("16-18") for r in rows[:20])
    res = ReadResult(kind="ees_lad_1618" if is_1618 else "ees_lad_ks4")
    if not rows:
        raise BenchmarkFileError(f"{rel}: EES district extract header but no data rows")
    periods = sorted({r["time_period"] for r in rows if r.get("time_period", "").isdigit()})
    latest_start = ees_period_start(periods[-1])
    key_stage = "16-18" if is_1618 else "KS4"
    source = "ees_1618_destinations" if is_1618 else "ees_ks4_destinations"
    publication = f"EES {key_stage} destination measures by district to {year_label(latest_start)} destinations (pre-2025 format)"
    caveat = CAVEATS["dfe_sustained"] + " " + CAVEATS["lad"]
    for r in rows:
        lad = r.get("lad_code", "").strip()
        if not lad or not r.get("time_period", "").isdigit():
            continue
        start = ees_period_start(r["time_period"]) - 1   # pre-2025: time_period = destination year
        level_group = r.get("cohort_level_group", "Total").strip() or "Total"
        topic, breakdown = trust_breakdown(r.get("breakdown_topic", "Total"), r.get("breakdown", "Total"))
        if is_1618 and level_group != "Total":
            topic, breakdown = "Qualification level", level_group
        base = dict(source=source, publication=publication, leaving_year=year_label(start),
                    period=r["time_period"], destination_year=year_label(start + 1),
                    geography_level="lad", geography_code=lad, geography_name=r.get("lad_name"),
                    key_stage=key_stage, institution_group=institution_group(r.get("institution_group", "")),
                    breakdown_topic=topic, breakdown=breakdown, version=None, methodology="pre-2025",
                    publication_order=(latest_start + 1) * 10, caveat=caveat, source_file=rel)
        for measure, cell in [("cohort", r.get("cohort"))] + [(m, r.get(c)) for c, m in LAD_MEASURES.items()]:
            value, suppressed, flag, keep = parse_value(cell)
            if keep:
                res.rows.append(make_row(**base, measure=measure, value=value,
                                         suppressed=suppressed, value_flag=flag))
    return res
