"""Small hand-made academy register and leavers frame for the careers tests."""
from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.lib.upn import make_upn


def academies() -> pl.DataFrame:
    return pl.DataFrame({
        "urn": ["140001", "140002", "140003"],
        "name": ["North Academy", "South Academy", "East Sixth Form"],
        "la_code": ["352", "352", "353"],
        "phase": ["secondary", "secondary", "16-19"],
        "has_sixth_form": ["Y", "N", "Y"],
        "joined_trust": ["2015-09-01", "2019-09-01", "2020-09-01"],
    })


def leavers(n_per: int = 40, seed: int = 1) -> pl.DataFrame:
    """KS4 leavers for 140001/140002 and 16-18 leavers for 140001/140003, 2022-23..2025-26."""
    rng = np.random.default_rng(seed)
    rows = []
    estab = {"140001": 4001, "140002": 4002, "140003": 4003}
    for urn, ks in [("140001", "KS4"), ("140002", "KS4"), ("140001", "16-18"), ("140003", "16-18")]:
        for start in range(2022, 2026):
            for s in range(n_per):
                serial = s + (0 if ks == "KS4" else 400) + (start - 2022) * 0
                year2 = (start - 11) % 100 if ks == "KS4" else (start - 13) % 100
                readiness = float(rng.beta(4, 3))
                neet = rng.random() < 0.25 * (1 - readiness) ** 2 * 4
                rows.append({
                    "academy_urn": urn, "upn": make_upn(352 if urn != "140003" else 353, estab[urn], year2, serial),
                    "leaving_year": f"{start}-{(start + 1) % 100:02d}", "key_stage": ks,
                    "sex": "F" if s % 2 else "M", "disadvantaged": bool(s % 4 == 0),
                    "sen_provision": "K" if s % 7 == 0 else "N", "ethnicity": "WBRI",
                    "readiness": readiness, "destination_code": "619" if neet else "230",
                })
    return pl.DataFrame(rows)


# ---------------------------------------------------------------- tiny warehouse dataset

ITEMS = ["CK01", "CK02", "CR01", "ES04"]          # 3 readiness items + creativity
READINESS = {"CK01", "CK02", "CR01"}
POSITIVE = {"Agree", "Strongly agree"}
SCALE = ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"]


def tiny_dataset(seed: int = 3) -> dict:
    """A hand-made trust: 2 academies, 2024-25 KS4 leavers with R3 destinations, FSQ answers
    (autumn + summer, long CSV and wide XLSX) and Compass evaluations across the 2025 break.

    Returns answers (the truth: one dict per pupil x survey x item), leavers, academies and the
    files to write (relative path -> bytes)."""
    rng = np.random.default_rng(seed)
    leavers = []
    dest_cycle = ["230", "310", "619", "230", "810", "240", "330", "230", "640", "230"]
    for urn, estab, n in (("140001", 4001, 9), ("140002", 4002, 8)):
        for s in range(n):
            leavers.append({"academy_urn": urn, "upn": make_upn(352, estab, 13, s), "year_group": 11,
                            "sex": "F" if s % 2 else "M", "disadvantaged": s % 3 == 0,
                            "sen_provision": "K" if s % 4 == 1 else "N",
                            "destination_code": dest_cycle[(s + (3 if urn == "140002" else 0)) % len(dest_cycle)]})
    # earlier R1 row for one pupil with other characteristics: the latest (R3) must win
    answers = []

    def survey(urn, year, date_, yg, upns, skip=()):
        for u in upns:
            for item in ITEMS:
                if u in skip:
                    resp = ""
                else:
                    resp = SCALE[int(rng.integers(0, 5))] if rng.random() > 0.1 else ""
                answers.append({"academy_urn": urn, "academic_year": year, "survey_date": date_,
                                "year_group": yg, "upn": u, "item_id": item, "response": resp})

    a = [r["upn"] for r in leavers if r["academy_urn"] == "140001"]
    b = [r["upn"] for r in leavers if r["academy_urn"] == "140002"]
    y10 = [make_upn(352, 4001, 14, 900 + k) for k in range(3)]      # non-leavers: sub-groups Unknown
    survey("140001", "2024-25", "2024-10-10", 11, a, skip={a[8]})   # a[8] never answers
    survey("140001", "2024-25", "2024-10-10", 10, y10)
    survey("140001", "2024-25", "2025-05-12", 11, a[:6], skip={a[8]})  # latest for a[0..5]
    survey("140002", "2024-25", "2025-05-20", 11, b)
    survey("140001", "2025-26", "2025-10-08", 12, a[:2])            # after leaving: never linked
    files = {}
    files.update(_long_csv(answers, "140001", "2024-25", "2024-10-10", "raw/fsq/140001/2024-25/fsq_autumn.csv",
                           extra_item=("ZZ99", "Agree")))
    files.update(_long_csv(answers, "140001", "2024-25", "2025-05-12", "raw/fsq/140001/2024-25/fsq_summer.csv"))
    files.update(_long_csv(answers, "140001", "2025-26", "2025-10-08", "raw/fsq/140001/2025-26/fsq_autumn.csv"))
    files["raw/fsq/140002/2024-25/fsq_summer.xlsx"] = _wide_xlsx(answers, "140002", "2025-05-20")
    compass = []
    for urn, levels in (("140001", [(d, "2018", p) for d, p in (("2023-11-20", 50), ("2024-06-25", 75),
                                                                  ("2024-11-20", 100), ("2025-06-20", 100))]
                          + [("2025-11-05", "2025", 60)]),
                        ("140002", [("2024-11-10", "2018", 100), ("2025-06-15", "2018", 40)])):
        for d, fw, p in levels:
            for bm in range(1, 9):
                pct = 100 if bm <= 5 else (p if bm != 6 else min(p, 67))
                compass.append({"academy_urn": urn, "evaluation_date": d, "framework_version": fw,
                                "benchmark": bm, "percent_achieved": pct})
    for urn in ("140001", "140002"):
        for d in sorted({c["evaluation_date"] for c in compass if c["academy_urn"] == urn}):
            rows = [c for c in compass if c["academy_urn"] == urn and c["evaluation_date"] == d]
            text = "urn,evaluation_date,framework_version,benchmark,percent_achieved\n" + "".join(
                f"{urn},{d},{c['framework_version']},{c['benchmark']},{c['percent_achieved']}\n" for c in rows)
            files[f"raw/compass/{urn}/compass_{d}.csv"] = text.encode()
    return {"answers": answers, "leavers": leavers, "compass": compass, "files": files,
            "academies": academies().filter(pl.col("urn").is_in(["140001", "140002"]))}


def _long_csv(answers, urn, year, date_, path, extra_item=None):
    rows = [r for r in answers if r["academy_urn"] == urn and r["survey_date"] == date_]
    lines = ["UPN,Year Group,Survey Date,Item ID,Response"]
    for r in rows:
        lines.append(f"{r['upn']},{r['year_group']},{r['survey_date']},{r['item_id']},{r['response']}")
    if extra_item:  # an item not in the mapping: reported, stored, never scored
        lines.append(f"{rows[0]['upn']},{rows[0]['year_group']},{date_},{extra_item[0]},{extra_item[1]}")
    return {path: ("\n".join(lines) + "\n").encode("utf-8")}


def _wide_xlsx(answers, urn, date_):
    import io

    import xlsxwriter
    rows = [r for r in answers if r["academy_urn"] == urn and r["survey_date"] == date_]
    pupils = list(dict.fromkeys(r["upn"] for r in rows))
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("Results")
    ws.write_row(0, 0, ["FSQ export"])
    ws.write_row(1, 0, ["Unique Pupil Number", "NC Year", "Date completed"] + ITEMS)
    for i, u in enumerate(pupils, start=2):
        mine = {r["item_id"]: r["response"] for r in rows if r["upn"] == u}
        yg = next(r["year_group"] for r in rows if r["upn"] == u)
        ws.write_row(i, 0, [u, yg, date_] + [mine[it] for it in ITEMS])
    wb.close()
    return buf.getvalue()
