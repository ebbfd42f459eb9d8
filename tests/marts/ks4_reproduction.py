"""Rebuild pupil-level actual returns from DfE's school-level KS4 destination measures
(performance tables `england_ks4-pupdest.csv`) and list the percentages DfE published.

Generic: works on any row of that file layout (school, LA or national), whichever year.

How the columns fit together (checked on every unsuppressed row of the 2024-25 file):
  COHORT       = OVERALL_DEST + NOT_SUSTAINED + UNKNOWN
  OVERALL_DEST = EDUCATION + APPREN + EMPLOYMENT
  EDUCATION    = FE + SCH_6TH + SIXTH_COL + OTHER_EDU
and for every measure X: X = X_DIS + X_NONDIS. Percentages are 100 * X / COHORT rounded half
up to a whole percent. Suppressed cells (SUPP, SP, SN, NA, ...) are worked out from these
identities where exactly one term is missing; a group whose leaves cannot all be worked out
is not rebuilt (and not compared).
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

# DfE leaf measure -> the trust's destination code for a pupil counted there
LEAF_CODES = {
    "SCH_6TH": "210",        # school sixth form
    "SIXTH_COL": "220",      # sixth-form college
    "FE": "230",             # further education
    "OTHER_EDU": "270",      # other education
    "APPREN": "310",         # apprenticeship
    "EMPLOYMENT": "320",     # employment
    "NOT_SUSTAINED": "619",  # not sustained -> NEET (seeking EET)
    "UNKNOWN": "810",        # activity not captured -> not known
}

# DfE published measure -> destination_measures column
MEASURE_COLUMNS = {
    "OVERALL_DEST": "positive_pct",
    "EDUCATION": "education_pct",
    "FE": "further_education_pct",
    "SCH_6TH": "school_sixth_form_pct",
    "SIXTH_COL": "sixth_form_college_pct",
    "OTHER_EDU": "other_education_pct",
    "APPREN": "apprenticeship_pct",
    "EMPLOYMENT": "employment_pct",
    "NOT_SUSTAINED": "neet_pct",
    "UNKNOWN": "not_known_pct",
}

# column suffix -> (breakdown_topic, breakdown, disadvantaged flag of the rebuilt pupils)
GROUPS = {
    "": ("Total", "Total", None),
    "_DIS": ("Disadvantage", "Disadvantaged", True),
    "_NONDIS": ("Disadvantage", "Not disadvantaged", False),
}

_IDENTITIES = [
    ("COHORT", ["OVERALL_DEST", "NOT_SUSTAINED", "UNKNOWN"]),
    ("OVERALL_DEST", ["EDUCATION", "APPREN", "EMPLOYMENT"]),
    ("EDUCATION", ["FE", "SCH_6TH", "SIXTH_COL", "OTHER_EDU"]),
]
_ALL_MEASURES = ["COHORT", *MEASURE_COLUMNS]


def _count(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def _pct(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text[:-1]) if text.endswith("%") and text[:-1].isdigit() else None


def dfe_round(value: float) -> int:
    """DfE's whole-percent rounding (half up)."""
    return math.floor(value + 0.5)


def resolve_counts(row: dict) -> dict[tuple[str, str], int | None]:
    """Counts per (suffix, measure), suppressed cells worked out where the identities allow."""
    counts = {(s, m): _count(row.get(f"{m}{s}")) for s in GROUPS for m in _ALL_MEASURES}
    equations = [[(s, total)] + [(s, p) for p in parts] for s in GROUPS for total, parts in _IDENTITIES]
    equations += [[("", m), ("_DIS", m), ("_NONDIS", m)] for m in _ALL_MEASURES]
    changed = True
    while changed:
        changed = False
        for total, *parts in equations:
            unknown = [k for k in (total, *parts) if counts[k] is None]
            if len(unknown) != 1:
                continue
            k = unknown[0]
            if k == total:
                counts[k] = sum(counts[p] for p in parts)
            else:
                counts[k] = counts[total] - sum(counts[p] for p in parts if p != k)
            if counts[k] < 0:
                raise ValueError(f"inconsistent counts in row {row.get('URN') or row.get('LEA')}")
            changed = True
    return counts


def split_disadvantage(row: dict, counts: dict) -> dict[str, int] | None:
    """Disadvantaged count per leaf consistent with every published Total/DIS/NONDIS cell.

    Where DfE suppressed the split, any consistent split reproduces every published figure;
    a small depth-first search finds one (None if the cohort split is unknown or no split fits).
    """
    leaves = list(LEAF_CODES)
    total = {m: counts[("", m)] for m in leaves}
    cohort_dis = counts[("_DIS", "COHORT")]
    if any(v is None for v in total.values()) or cohort_dis is None:
        return None
    cohort_non = counts[("", "COHORT")] - cohort_dis
    # constraints: sum of DIS over a set of leaves == known value
    constraints = []
    for agg, members in [("COHORT", leaves), ("OVERALL_DEST", leaves[:6]), ("EDUCATION", leaves[:4])]:
        if counts[("_DIS", agg)] is not None:
            constraints.append((members, counts[("_DIS", agg)]))
    # domain of each leaf: known value, else every value whose published percentages fit
    domains = {}
    for m in leaves:
        if counts[("_DIS", m)] is not None:
            domains[m] = [counts[("_DIS", m)]]
            continue
        pd_, pn = _pct(row.get(f"{m}PER_DIS")), _pct(row.get(f"{m}PER_NONDIS"))
        domains[m] = [v for v in range(total[m] + 1)
                      if (pd_ is None or (cohort_dis and dfe_round(100 * v / cohort_dis) == pd_))
                      and (pn is None or (cohort_non and dfe_round(100 * (total[m] - v) / cohort_non) == pn))]
    chosen: dict[str, int] = {}

    def feasible(i: int) -> bool:
        for members, target in constraints:
            fixed = sum(chosen[m] for m in members if m in chosen)
            open_ = [m for m in members if m not in chosen]
            lo = fixed + sum(min(domains[m]) for m in open_)
            hi = fixed + sum(max(domains[m]) for m in open_)
            if not lo <= target <= hi:
                return False
        return True

    def search(i: int) -> bool:
        if i == len(leaves):
            return True
        for v in domains[leaves[i]]:
            chosen[leaves[i]] = v
            if feasible(i + 1) and search(i + 1):
                return True
            del chosen[leaves[i]]
        return False

    if any(not d for d in domains.values()) or not search(0):
        return None
    return dict(chosen)


@dataclass
class School:
    urn: str
    name: str
    pupils: list[dict] = field(default_factory=list)   # disadvantaged, destination_code
    expected: list[tuple[str, str, str, int]] = field(default_factory=list)  # topic, breakdown, column, pct
    rebuilt_groups: list[str] = field(default_factory=list)


def school_from_row(row: dict) -> School | None:
    """Pupils and DfE's published whole percentages for one row; None if it cannot be rebuilt."""
    counts = resolve_counts(row)
    leaves = list(LEAF_CODES)
    if any(counts[("", m)] is None for m in leaves):
        return None
    school = School(urn=str(row.get("URN") or "").strip() or f"LA{row.get('LEA')}", name=row.get("SCHNAME", ""))
    dis = split_disadvantage(row, counts)
    for m in leaves:
        n_dis = dis[m] if dis else 0
        school.pupils += [{"disadvantaged": True, "destination_code": LEAF_CODES[m]}] * n_dis
        school.pupils += [{"disadvantaged": False, "destination_code": LEAF_CODES[m]}] * (counts[("", m)] - n_dis)
    school.rebuilt_groups = ["", "_DIS", "_NONDIS"] if dis else [""]
    for s in school.rebuilt_groups:
        topic, breakdown, _ = GROUPS[s]
        for m, column in MEASURE_COLUMNS.items():
            published = _pct(row.get(f"{m}PER{s}"))
            if published is not None:
                school.expected.append((topic, breakdown, column, published))
    return school


def read_rows(path: Path, urns: list[str] | None = None) -> list[dict]:
    """Rows of a pupdest file (UTF-8 with BOM or cp1252), optionally only the given URNs, in that order."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    rows = list(csv.DictReader(text.splitlines()))
    if urns is None:
        return rows
    by_urn = {r["URN"].strip(): r for r in rows if r.get("URN")}
    return [by_urn[u] for u in urns if u in by_urn]


def raw_return_rows(schools: list[School], leaving_year: str, make_row) -> list[dict]:
    """raw.destination_returns rows (R3, Year 11) for the rebuilt pupils; `make_row` fills defaults."""
    rows = []
    for school in schools:
        for i, p in enumerate(school.pupils, start=1):
            rows.append(make_row(
                academy_urn=school.urn, leaving_year=leaving_year, round="R3",
                upn=f"K{school.urn}{i:06d}"[:13], year_group=11, sex="F" if i % 2 else "M",
                disadvantaged=p["disadvantaged"], sen_provision="N",
                destination_code=p["destination_code"], source_row=i + 1))
    return rows
