"""Report test helpers: the fixture data beyond destinations, building and parsing a pack."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from tests.report import fixture_data

FIXED = datetime(2025, 12, 1, 9, 0, tzinfo=timezone.utc)
REPO = Path(__file__).resolve().parents[2]


def pdf_text(path: Path) -> list[str]:
    from pypdf import PdfReader
    return [p.extract_text() or "" for p in PdfReader(str(path)).pages]


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def xlsx_sheets(path: Path) -> dict[str, list[list]]:
    from openpyxl import load_workbook
    wb = load_workbook(str(path), read_only=True)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def table_rows(sheet: list[list]) -> tuple[list[str], list[list]]:
    """Header (row 4) and data rows (until the blank row before Notes) of a pack sheet."""
    header = [c for c in sheet[3] if c is not None]
    rows = []
    for r in sheet[4:]:
        if r is None or all(v is None for v in r):
            break
        rows.append(list(r[:len(header)]))
    return header, rows


class Built:
    def __init__(self, root: Path, published: bool = True, extra=None):
        self.serving = fixture_data.write_snapshot(root / "warehouse" / "serving", published=published, extra=extra)
        self.dest_rows = fixture_data.destination_rows(7, ("R1", "R2", "R3"))
        self.published_rows = fixture_data.publish_like(self.dest_rows)
        from pipelines.lib.report import build_pack
        self.out = build_pack(fixture_data.YEAR, root / "out", self.serving, generated_at=FIXED)
        self.pages = pdf_text(self.out["pdf"])
        self.text = norm("\n".join(self.pages))
        self.sheets = xlsx_sheets(self.out["xlsx"])

    def mart(self, level, urn, ks, topic, breakdown, round_="R3"):
        return next(r for r in self.dest_rows if r["level"] == level and r["academy_urn"] == urn
                    and r["key_stage"] == ks and r["round"] == round_ and r["breakdown_topic"] == topic
                    and r["breakdown"] == breakdown)


GOALS = [
    {"goal_id": "girls_engineering", "title": "Girls into engineering and manufacturing", "level": "trust",
     "academy_urn": None, "leaving_year": "2024-25", "key_stage": "all", "numerator": 7, "denominator": 40,
     "share_pct": 17.5, "target_pct": 20.0, "direction": "at_least", "comparator_pct": 10.3,
     "comparator_year": "2023/24", "comparator_description": "Women's share of E&M apprenticeship starts",
     "comparator_source": "https://www.onefile.co.uk/explore/female-apprentices", "on_track": False},
    {"goal_id": "boys_care", "title": "Boys into care services", "level": "trust", "academy_urn": None,
     "leaving_year": "2024-25", "key_stage": "all", "numerator": 9, "denominator": 30, "share_pct": 30.0,
     "target_pct": 25.0, "direction": "at_least", "comparator_pct": 18.7, "comparator_year": "2022/23",
     "comparator_description": "Men's share of care services starts", "comparator_source": "https://sctp.org.uk",
     "on_track": True},
    {"goal_id": "girls_digital", "title": "Girls into digital", "level": "trust", "academy_urn": None,
     "leaving_year": "2024-25", "key_stage": "all", "numerator": None, "denominator": 4, "share_pct": None,
     "target_pct": 40.0, "direction": "at_least", "comparator_pct": 36.4, "comparator_year": "2023/24",
     "comparator_description": "Women's share of digital starts", "comparator_source": "https://example.org",
     "on_track": None, "suppressed": True},
]
# a pupil-level mart that must never reach the pack (UPNs and names)
NEET_RISK = [{"upn": "A123456789012", "forename": "Zebedee", "surname": "Quartermaine", "academy_urn": "140001",
              "leaving_year": "2025-26", "risk_score": 7.0, "reasons": "undecided"},
             {"upn": "B12345678901C", "forename": "Xanthe", "surname": "Oddbody", "academy_urn": "140002",
              "leaving_year": "2025-26", "risk_score": 5.0, "reasons": "no offer"}]


RETURN_STATUS = [
    {"academy_urn": urn, "academy_name": name, "leaving_year": "2024-25", "round": rnd,
     "due_date": due, "return_status": "submitted" if ok else "missing",
     "timeliness": ok or "overdue", "first_accepted_at": acc, "rows_accepted": n if ok else 0,
     "rows_rejected": rej, "current_submitted_by": "jane.smith@northgate.example",
     "current_file": f"raw/returns/{urn}/2024-25/{rnd}/return.csv"}
    for urn, name, n in (("140001", "Northgate Academy", 160), ("140002", "Riverside School", 90),
                         ("140003", "Hillside Special Academy", 4))
    for rnd, due, ok, acc, rej in (("R1", "2024-12-15", "on_time", "2024-12-10 10:00:00", 0),
                                   ("R2", "2025-05-31", "late" if urn == "140002" else "on_time",
                                    "2025-06-04 09:00:00" if urn == "140002" else "2025-05-20 09:00:00", 2),
                                   ("R3", "2025-11-30", "on_time" if urn != "140003" else None,
                                    "2025-11-28 12:00:00" if urn != "140003" else None, 1))
]


FSQ = [
    {"level": lvl, "academy_urn": urn, "academic_year": "2024-25", "survey_round": rnd, "survey_round_order": o,
     "year_group": yg, "construct": con, "construct_label": label, "construct_group": grp,
     "breakdown_topic": "Total", "breakdown": "Total", "pupils_responding": n, "positive_pct": pct,
     "suppressed": n is None}
    for lvl, urn in (("trust", None), ("academy", "140001"))
    for rnd, o in (("autumn", 1), ("summer", 3))
    for yg, n in ((10, 150), (11, 140), (13, None))
    for con, label, grp, pct in (("career_knowledge", "Career knowledge", "Career readiness", 61.25),
                                 ("teamwork", "Teamwork", "Essential skills", 74.05))
]
for r in FSQ:  # make each figure distinct so a wrong pick shows
    if r["positive_pct"] is not None:
        r["positive_pct"] += r["year_group"] / 10 + (5 if r["survey_round"] == "summer" else 0)
    if r["pupils_responding"] is None:
        r["positive_pct"] = None
READINESS = [
    {"level": "trust", "academy_urn": None, "leaving_year": "2024-25", "key_stage": "KS4", "readiness_band": b,
     "readiness_band_order": o, "breakdown_topic": "Total", "breakdown": "Total", "cohort": n,
     "positive_pct": p, "neet_pct": q, "not_known_pct": k}
    for b, o, n, p, q, k in (("All", -1, 219, 89.5, 5.9, 2.7), ("Low", 1, 40, 80.0, 12.5, 5.0),
                             ("High", 3, 120, 95.0, 2.5, 0.8), ("No FSQ", 9, None, None, None, None))
]
COMPASS_NAT = [
    {"academic_year": "2024-25", "framework_version": "2018", "measure": m, "benchmark": bm, "academies": 3,
     "trust_value": tv, "national_value": nv, "national_source": "CEC 2024/25 briefing"}
    for m, bm, tv, nv in [("avg_benchmarks_fully_achieved", 0, 5.6667, 5.96)]
    + [("pct_fully_achieved", i, 100 * (i % 3) / 3, 50.0 + i) for i in range(1, 9)]
]
COMPASS_TRENDS = [
    {"academy_urn": u, "academy_name": n, "evaluation_date": d, "academic_year": ay, "framework_version": "2018",
     "benchmark": i, "percent_achieved": float(min(100, 40 + 10 * i + k)), "is_latest_in_academic_year": True}
    for u, n, k in (("140001", "Northgate Academy", 0), ("140002", "Riverside School", 5))
    for d, ay in (("2024-11-01", "2024-25"), ("2025-03-01", "2024-25"), ("2023-06-01", "2022-23"))
    for i in range(1, 9)
]
RECON = [
    {"level": "trust", "academy_urn": None, "leaving_year": "2024-25", "key_stage": ks, "intended_round": rnd,
     "breakdown_topic": "Total", "breakdown": "Total", "pupils": n, "realised_pct": a, "changed_route_pct": b,
     "became_neet_pct": c, "became_not_known_pct": d, "no_intention_recorded_pct": e, "not_in_actual_return_pct": f}
    for ks, rnd, n, a, b, c, d, e, f in (("KS4", "R1", 230, 70.0, 20.0, 4.0, 3.0, 2.0, 1.0),
                                         ("KS4", "R2", 225, 75.5, 15.5, 4.0, 3.0, 2.0, None),
                                         ("16-18", "R2", 45, 60.0, 20.0, 10.0, 5.0, 5.0, 0.0))
]
NEET_LA = [
    {"level": "academy", "academy_urn": "140001", "leaving_year": "2024-25", "key_stage": "KS4", "round": "R3",
     "breakdown_topic": "Total", "breakdown": "Total", "la_name": "Manchester", "la_neet_not_known_pct": 7.4,
     "la_comparator_leaving_year": "2023-24", "neet_denominator": 118},
]


