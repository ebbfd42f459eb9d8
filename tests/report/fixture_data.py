"""A small contract-shaped serving snapshot for the report tests (no pipeline needed).

Pupils are drawn with a fixed seed and aggregated exactly as contract §7 describes, so the
mart values the tests compare against are real aggregates, including small groups that the
pack must withhold.
"""
from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

YEAR = "2024-25"
ACADEMIES = [("140001", "Northgate Academy", 120, 40), ("140002", "Riverside School", 90, 0),
             ("140003", "Hillside Special Academy", 9, 4)]  # urn, name, KS4 leavers, 16-18 leavers
GROUPS = {
    "education": ["school_sixth_form", "sixth_form_college", "further_education", "higher_education",
                  "other_education"],
}
SUB_COUNTS = ["school_sixth_form", "sixth_form_college", "further_education", "higher_education",
              "other_education", "apprenticeship", "employment", "training", "neet", "not_known", "other",
              "undecided", "excluded"]
COUNTS = ["education", "school_sixth_form", "sixth_form_college", "further_education", "higher_education",
          "other_education", "apprenticeship", "employment", "training", "positive", "neet", "not_known",
          "other", "undecided", "excluded"]
BREAKDOWNS = [("Total", "Total"), ("Disadvantage", "Disadvantaged"), ("Disadvantage", "Not disadvantaged"),
              ("SEN provision", "No SEN"), ("SEN provision", "SEN support"), ("SEN provision", "EHC plan"),
              ("Sex", "Female"), ("Sex", "Male"), ("Ethnicity major", "White"),
              ("Ethnicity major", "Asian or Asian British"), ("Ethnicity major", "Black or Black British"),
              ("Ethnicity major", "Unclassified"),
              ("Disadvantage and sex", "Disadvantaged Female"), ("Disadvantage and sex", "Disadvantaged Male"),
              ("Disadvantage and sex", "Not disadvantaged Female"), ("Disadvantage and sex", "Not disadvantaged Male")]
ORDER = {b: i for i, b in enumerate(BREAKDOWNS)}


def _pupils(seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for urn, _name, n4, n16 in ACADEMIES:
        for ks, n in (("KS4", n4), ("16-18", n16)):
            for _ in range(n):
                dis = rng.random() < (0.35 if urn != "140003" else 0.5)
                sen = rng.choices(["N", "K", "E"], [0.8, 0.15, 0.05] if urn != "140003" else [0, 0.2, 0.8])[0]
                r = rng.random() + (0.06 if dis else 0)
                if ks == "KS4":
                    dest = ("school_sixth_form" if r < 0.35 else "further_education" if r < 0.70 else
                            "sixth_form_college" if r < 0.80 else "apprenticeship" if r < 0.85 else
                            "training" if r < 0.88 else "employment" if r < 0.905 else "other_education" if r < 0.92
                            else "neet" if r < 0.97 else "not_known" if r < 1.02 else "other")
                else:
                    dest = ("higher_education" if r < 0.45 else "apprenticeship" if r < 0.6 else "employment" if r < 0.8
                            else "further_education" if r < 0.86 else "neet" if r < 0.95 else "not_known")
                out.append({"urn": urn, "ks": ks, "dis": dis, "sen": sen, "sex": rng.choice("FM"),
                            "eth": rng.choices(["White", "Asian or Asian British", "Black or Black British",
                                                "Unclassified"], [0.7, 0.15, 0.1, 0.05])[0], "dest": dest})
    return out


def _breakdowns(p: dict) -> list[tuple[str, str]]:
    d = "Disadvantaged" if p["dis"] else "Not disadvantaged"
    s = {"F": "Female", "M": "Male"}[p["sex"]]
    return [("Total", "Total"), ("Disadvantage", d),
            ("SEN provision", {"N": "No SEN", "K": "SEN support", "E": "EHC plan"}[p["sen"]]),
            ("Sex", s), ("Ethnicity major", p["eth"]), ("Disadvantage and sex", f"{d} {s}")]


def destination_rows(seed: int = 7, rounds=("R3",), year: str = YEAR) -> list[dict]:
    pupils = _pupils(seed)
    names = {u: n for u, n, _, _ in ACADEMIES}
    agg: dict = defaultdict(lambda: defaultdict(int))
    frames = set()
    for p in pupils:
        for level, urn in (("academy", p["urn"]), ("trust", None)):
            frames.add((level, urn, p["ks"]))
            for b in _breakdowns(p):
                a = agg[(level, urn, p["ks"], b)]
                a["cohort"] += 1
                a[p["dest"]] += 1
    rows = []
    for rnd in rounds:
        for level, urn, ks in sorted(frames, key=str):
            for b in BREAKDOWNS:
                a = agg.get((level, urn, ks, b), {})
                c = {k: a.get(k, 0) for k in SUB_COUNTS}
                c["education"] = sum(c[k] for k in GROUPS["education"])
                c["positive"] = c["education"] + c["apprenticeship"] + c["employment"] + c["training"]
                cohort = a.get("cohort", 0)
                r = {"level": level, "academy_urn": urn, "academy_name": names.get(urn), "leaving_year": year,
                     "key_stage": ks, "round": rnd, "round_kind": "actual" if rnd == "R3" else "intended",
                     "breakdown_topic": b[0], "breakdown": b[1], "topic_order": ORDER[b], "breakdown_order": 1,
                     "cohort": cohort}
                for k in COUNTS:
                    r[k] = c[k]
                for k in COUNTS:
                    r[f"{k}_pct"] = (100.0 * c[k] / cohort) if cohort else None
                rows.append(r)
    return rows


def publish_like(rows: list[dict], min_cohort: int = 6, min_count: int = 3) -> list[dict]:
    """A `_published` twin as the marts issue describes: withheld cells null (primary rule only)."""
    out = []
    for r in rows:
        r = dict(r)
        cohort = r["cohort"]
        r["suppressed"] = 0 < cohort < min_cohort
        if 0 < cohort < min_cohort:
            for k in ["cohort"] + COUNTS + [f"{k}_pct" for k in COUNTS]:
                r[k] = None
        else:
            for k in COUNTS:
                v = r[k]
                if 0 < v < min_count or 0 < cohort - v < min_count:
                    r[k] = None
                    r[f"{k}_pct"] = None
        out.append(r)
    return out


def benchmark_rows() -> list[dict]:
    base = {"publication": "KS4 destination measures 2023/24 (test)", "is_latest": True, "period": "202324",
            "geography_level": "national", "geography_code": "E92000001", "institution_group": "mainstream",
            "suppressed": False, "publication_order": 1, "caveat": "DfE sustained destination", "value_flag": None}
    rows = []
    for ks, src, vals in (("KS4", "ees_ks4_destinations",
                           {("Total", "Total"): 93.6, ("Disadvantage", "Disadvantaged"): 87.7,
                            ("Disadvantage", "Not disadvantaged"): 95.7, ("SEN provision", "No SEN"): 94.4,
                            ("SEN provision", "SEN support"): 88.5, ("SEN provision", "EHC plan"): 89.8,
                            ("Sex", "Female"): 94.1, ("Sex", "Male"): 93.1}),
                          ("16-18", "ees_1618_destinations", {("Total", "Total"): 78.7})):
        for (t, b), v in vals.items():
            rows.append(dict(base, source=src, leaving_year="2022-23", key_stage=ks, breakdown_topic=t,
                             breakdown=b, measure="positive_pct", value=v))
            # an older publication of the same figure must be ignored
            rows.append(dict(base, source=src, leaving_year="2022-23", key_stage=ks, breakdown_topic=t,
                             breakdown=b, measure="positive_pct", value=v - 5, is_latest=False,
                             publication="old", publication_order=0))
    for m, v in (("neet_pct", 3.4), ("not_known_pct", 2.2), ("neet_not_known_pct", 5.6)):
        rows.append(dict(base, source="nccis_neet", publication="NEET and participation 2025 (test)",
                         leaving_year=None, period="2025", key_stage=None, institution_group=None,
                         breakdown_topic="Total", breakdown="Total", measure=m, value=v))
    return rows


def write_snapshot(serving: Path, published: bool = True, rounds=("R1", "R2", "R3"), seed: int = 7,
                   extra: dict[str, list[dict]] | None = None) -> Path:
    serving.mkdir(parents=True, exist_ok=True)
    rows = destination_rows(seed, rounds)
    pq.write_table(pa.Table.from_pylist(rows), serving / "destination_measures.parquet")
    if published:
        pq.write_table(pa.Table.from_pylist(publish_like(rows)), serving / "destination_measures_published.parquet")
    pq.write_table(pa.Table.from_pylist(benchmark_rows()), serving / "benchmark_measures.parquet")
    for name, rs in (extra or {}).items():
        pq.write_table(pa.Table.from_pylist(rs), serving / f"{name}.parquet")
    return serving
