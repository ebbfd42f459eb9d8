"""Contract-shaped serving snapshot for dashboard tests and the benchmark.

Deterministic numbers so tests can assert that what the page shows equals the mart.
Academy 100003 is small (cohort < 6 in every frame), so its published rows are suppressed.
"""
from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pandas as pd

APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "streamlit_app.py")

COUNT_GROUPS = {  # sub-group -> group
    "school_sixth_form": "education", "sixth_form_college": "education",
    "further_education": "education", "higher_education": "education",
    "other_education": "education", "apprenticeship": "apprenticeship",
    "employment": "employment", "training": "training", "neet": "neet",
    "not_known": "not_known", "other": "other", "undecided": "undecided",
}
COUNTS = ["education", "school_sixth_form", "sixth_form_college", "further_education",
          "higher_education", "other_education", "apprenticeship", "employment", "training",
          "positive", "neet", "not_known", "other", "undecided"]
BREAKDOWNS = [("Total", "Total"), ("Disadvantage", "Disadvantaged"),
              ("Disadvantage", "Not disadvantaged"), ("SEN provision", "No SEN"),
              ("SEN provision", "SEN support"), ("SEN provision", "EHC plan"),
              ("Sex", "Male"), ("Sex", "Female")]
ROUNDS = [("R1", "intended", 1), ("R2", "intended", 2), ("R3", "actual", 3)]
ROUTES = ["Engineering and manufacturing", "Construction and the built environment", "Digital",
          "Care services", "Hair and beauty", "Academic"]
MIN_COHORT, MIN_COUNT = 6, 3


def academies(n: int) -> list[tuple[str, str, str]]:
    base = [("100001", "Alder Academy", "352"), ("100002", "Birch Academy", "353"),
            ("100003", "Cedar Small School", "352")]
    out = base[:n]
    for i in range(len(out), n):
        out.append((f"{100001 + i:06d}", f"Academy {i + 1}", "354"))
    return out


def _years(n: int, last: int = 2024) -> list[str]:
    return [f"{y}-{(y + 1) % 100:02d}" for y in range(last - n + 1, last + 1)]


def _pupil_rows(urn: str, year: str, ks: str, size: int, rnd: random.Random) -> list[dict]:
    rows = []
    for i in range(size):
        sub = rnd.choices(list(COUNT_GROUPS), weights=[20, 10, 25, 3, 2, 8, 5, 3, 5, 4, 2, 3])[0]
        rows.append({"academy_urn": urn, "leaving_year": year, "key_stage": ks,
                     "upn": f"A{int(urn):06d}{i:05d}"[:13].ljust(13, "0"),
                     "disadvantaged": rnd.random() < 0.3, "sen": rnd.choice(["N"] * 7 + ["K", "K", "E"]),
                     "sex": rnd.choice("MF"), "sub": sub})
    return rows


def _measure(pupils: list[dict]) -> dict:
    c = {k: 0 for k in COUNTS}
    for p in pupils:
        sub = p["sub"]
        grp = COUNT_GROUPS[sub]
        if grp == "education":
            c["education"] += 1
            c[sub] += 1
        elif sub in c:
            c[sub] += 1
        if grp in ("education", "apprenticeship", "employment", "training"):
            c["positive"] += 1
    n = len(pupils)
    out = {"cohort": n, **c}
    for k in COUNTS:
        out[f"{k}_pct"] = (100.0 * c[k] / n) if n else None
    return out


def _in(p: dict, topic: str, b: str) -> bool:
    if topic == "Total":
        return True
    if topic == "Disadvantage":
        return p["disadvantaged"] == (b == "Disadvantaged")
    if topic == "SEN provision":
        return {"No SEN": "N", "SEN support": "K", "EHC plan": "E"}[b] == p["sen"]
    return p["sex"] == b[0]


def suppress(df: pd.DataFrame) -> pd.DataFrame:
    """The fixture's published twin, shaped like destination_measures_published: whole row c
    under MIN_COHORT, cells c for counts 1-2; `suppressed`, `suppression_status`,
    `suppressed_measures`; rows with no pupils are z (zeros, null shares)."""
    out = df.copy()
    small = out["cohort"].between(1, MIN_COHORT - 1)
    hidden: list[list[str]] = [[] for _ in range(len(out))]
    for k in COUNTS:
        cell = out[k].between(1, MIN_COUNT - 1) | (out["cohort"] - out[k]).between(1, MIN_COUNT - 1)
        hide = (small | cell) & (out["cohort"] > 0)
        for i in [j for j, h in enumerate(hide.tolist()) if h]:
            hidden[i].append(k)
        out[k] = out[k].astype("float").where(~hide)
        out[f"{k}_pct"] = out[f"{k}_pct"].where(~hide)
    out["cohort"] = out["cohort"].astype("float").where(~small)
    out["suppressed"] = small
    out["suppressed_measures"] = [h if not sm else ["cohort"] + COUNTS for h, sm in zip(hidden, small)]
    out["suppression_status"] = ["c" if sm else "z" if c == 0 else "partial" if h else "shown"
                                 for sm, c, h in zip(small, df["cohort"], hidden)]
    return out


def build(data_dir: Path, *, n_academies: int = 3, n_years: int = 3, pupils_per_frame: int = 60,
          seed: int = 7, with_extras: bool = True) -> dict:
    """Write raw/academies.csv and warehouse/serving/*.parquet. Returns facts for asserts."""
    rnd = random.Random(seed)
    serving = data_dir / "warehouse" / "serving"
    serving.mkdir(parents=True, exist_ok=True)
    (data_dir / "raw").mkdir(parents=True, exist_ok=True)
    acads = academies(n_academies)
    pd.DataFrame([{"urn": u, "name": n, "la_code": la, "phase": "secondary",
                   "has_sixth_form": "Y", "joined_trust": "2015-09-01"} for u, n, la in acads]
                 ).to_csv(data_dir / "raw" / "academies.csv", index=False)
    years = _years(n_years)
    measures, pupils_all = [], []
    for year in years:
        for ks in ("KS4", "16-18"):
            trust_pupils: dict[str, list] = {r: [] for r, _, _ in ROUNDS}
            for urn, name, _la in acads:
                size = 4 if urn == "100003" else pupils_per_frame + rnd.randint(-10, 10)
                base = _pupil_rows(urn, year, ks, size, rnd)
                for r, kind, order in ROUNDS:
                    ps = [dict(p) for p in base]
                    for p in ps:  # intentions drift a little between rounds
                        if rnd.random() < 0.15:
                            p["sub"] = rnd.choice(list(COUNT_GROUPS))
                        if kind == "actual" and p["sub"] == "undecided":
                            p["sub"] = "not_known"
                    trust_pupils[r] += ps
                    if r == "R3":
                        pupils_all += [dict(p, round=r) for p in ps]
                    for ti, (topic, b) in enumerate(BREAKDOWNS):
                        sel = [p for p in ps if _in(p, topic, b)]
                        measures.append({"level": "academy", "academy_urn": urn, "academy_name": name,
                                         "leaving_year": year, "key_stage": ks, "round": r,
                                         "round_kind": kind, "round_order": order,
                                         "breakdown_topic": topic, "breakdown": b,
                                         "topic_order": ti, "breakdown_order": ti, **_measure(sel)})
            for r, kind, order in ROUNDS:
                for ti, (topic, b) in enumerate(BREAKDOWNS):
                    sel = [p for p in trust_pupils[r] if _in(p, topic, b)]
                    measures.append({"level": "trust", "academy_urn": None, "academy_name": None,
                                     "leaving_year": year, "key_stage": ks, "round": r,
                                     "round_kind": kind, "round_order": order,
                                     "breakdown_topic": topic, "breakdown": b,
                                     "topic_order": ti, "breakdown_order": ti, **_measure(sel)})
    dm = pd.DataFrame(measures)
    dm["academy_urn"] = dm["academy_urn"].astype("string")
    write(serving, "destination_measures", dm)
    write(serving, "destination_measures_published", suppress(dm))

    bm = []
    for year in years[:-1]:  # national figures lag a year
        for ks, src, pos in (("KS4", "ees_ks4_destinations", 93.4), ("16-18", "ees_1618_destinations", 83.1)):
            for topic, b, delta in (("Total", "Total", 0), ("Disadvantage", "Disadvantaged", -6.5),
                                    ("Disadvantage", "Not disadvantaged", 2.5),
                                    ("SEN provision", "No SEN", 1.0), ("SEN provision", "SEN support", -5.0),
                                    ("SEN provision", "EHC plan", -4.0)):
                bm.append({"source": src, "publication": f"{src} {year}", "is_latest": True,
                           "leaving_year": year, "period": year.replace("-", "")[:4] + year[-2:],
                           "geography_level": "national", "geography_code": "E92000001",
                           "key_stage": ks, "institution_group": "mainstream and special",
                           "breakdown_topic": topic, "breakdown": b, "measure": "positive_pct",
                           "value": pos + delta, "suppressed": False})
        for geo, code, neet, nk in (("national", "E92000001", 3.0, 1.8), ("la", "352", 4.1, 2.5),
                                    ("la", "353", 2.4, 0.9), ("la", "354", 3.3, 1.1)):
            for m, v in (("neet_pct", neet), ("not_known_pct", nk), ("neet_not_known_pct", neet + nk)):
                bm.append({"source": "nccis_neet", "publication": f"NCCIS {year}", "is_latest": True,
                           "leaving_year": year, "period": year, "geography_level": geo,
                           "geography_code": code, "key_stage": None, "institution_group": None,
                           "breakdown_topic": "Total", "breakdown": "Total", "measure": m,
                           "value": v, "suppressed": False})
    write(serving, "benchmark_measures", pd.DataFrame(bm))

    latest = years[-1]
    if with_extras:
        pupil_df = pd.DataFrame(pupils_all)
        cur = pupil_df[pupil_df["leaving_year"] == latest]
        risk = cur[cur["sub"].isin(["neet", "not_known", "undecided", "training"])].copy()
        risk["risk_reasons"] = risk["sub"].map({"neet": "NEET at last contact", "not_known": "Destination not known",
                                                "undecided": "No intention recorded",
                                                "training": "Intended training, no offer"})
        risk["risk_score"] = risk["sub"].map({"neet": 3, "not_known": 2, "undecided": 2, "training": 1})
        risk["is_flagged"] = risk["risk_score"] >= 1
        risk["intended_round"] = "R2"
        risk = risk.rename(columns={"sub": "intended_group", "risk_reasons": "reasons"})[
            ["academy_urn", "leaving_year", "key_stage", "upn", "intended_round", "intended_group",
             "risk_score", "reasons", "is_flagged"]]
        write(serving, "neet_risk_pupils", risk.reset_index(drop=True))

        dq = []
        for urn, _n, _la in acads:
            for year in years:
                for r, _k, _o in ROUNDS:
                    late = urn == "100002" and r == "R2"
                    dq.append({"academy_urn": urn, "leaving_year": year, "round": r,
                               "return_status": "rejected_only" if (urn == "100003" and year == latest and r == "R3")
                               else "submitted", "timeliness": "late" if late else "on_time",
                               "current_submitted_at": f"{int(year[:4]) + 1}-01-10",
                               "rows_total": 60, "rows_accepted": 58, "rows_rejected": 2,
                               "warnings": 3, "feedback_path": f"feedback/{urn}/{year}/{r}/feedback.txt"})
        write(serving, "return_status", pd.DataFrame(dq))
        for urn, _n, _la in acads:  # the feedback reports (contain UPNs: academy-private)
            for year in years:
                for r, _k, _o in ROUNDS:
                    fb = data_dir / "feedback" / urn / year / r / "feedback.txt"
                    fb.parent.mkdir(parents=True, exist_ok=True)
                    fb.write_text(f"Feedback for {urn} {year} {r}\nERROR row 5: UPN A{urn}X bad check letter\n")

    if with_extras:
        write(serving, "neet_not_known", _neet_not_known(dm, acads))
        write(serving, "neet_not_known_published", _neet_not_known(suppress(dm), acads))
        write(serving, "destination_gaps", _gaps(dm))
        write(serving, "destination_gaps_published", _gaps(suppress(dm)))
    (data_dir / "reports").mkdir(exist_ok=True)
    (serving / "_manifest.json").write_text(json.dumps({"published_at": "2026-11-25T09:00:00+00:00"}))
    return {"academies": acads, "years": years, "latest": latest}


def write(serving: Path, name: str, df: pd.DataFrame) -> None:
    tmp = serving / f".{name}.parquet.tmp"
    df.to_parquet(tmp, index=False)
    os.replace(tmp, serving / f"{name}.parquet")


def make_users(data_dir: Path) -> dict[str, str]:
    """Users for every role. Returns username -> password."""
    from dashboards.lib import users
    path = data_dir / "auth" / "users.json"
    creds = {"admin": "admin-pass-123", "director": "director-pass-123",
             "alder": "alder-pass-123", "multi": "multi-pass-123"}
    users.add_user("admin", "trust_admin", password=creds["admin"], path=path, replace=True)
    users.add_user("director", "director", password=creds["director"], path=path, replace=True)
    users.add_user("alder", "academy", ["100001"], password=creds["alder"], path=path, replace=True,
                   email="head@alder.example.org")
    users.add_user("multi", "academy", ["100002", "100003"], password=creds["multi"], path=path,
                   replace=True)
    return creds


def return_csv(n: int = 20, *, estab: int = 4001, la: int = 352, bad: bool = False) -> bytes:
    """A destination return: valid (n pupils, valid UPNs) or, with bad=True, lacking the
    required destination_code column (rejected as a whole)."""
    from pipelines.lib.upn import make_upn
    cols = ["upn", "year_group", "sex", "disadvantaged", "sen_provision", "destination_code"]
    if bad:
        cols = cols[:-1]
    lines = [",".join(cols)]
    codes = ["230", "220", "310", "210", "230", "320"]
    for i in range(n):
        row = [make_upn(la, estab, 9, i + 1), "11", "MF"[i % 2], "YN"[i % 3 != 0],
               "N" if i % 4 else "K", codes[i % len(codes)]]
        lines.append(",".join(row[: len(cols)]))
    return ("\n".join(lines) + "\n").encode("utf-8")


LA_NEET = {"352": (4.1, 2.5), "353": (2.4, 0.9), "354": (3.3, 1.1)}


def _neet_not_known(dm: pd.DataFrame, acads) -> pd.DataFrame:
    """neet_not_known-shaped rows (actual round) with LA / England comparators."""
    la = {u: l for u, _n, l in acads}
    out = dm[dm["round_kind"] == "actual"].copy()
    out["neet_denominator"] = out["cohort"]
    out["la_code"] = out["academy_urn"].map(la).astype("string")
    out["la_neet_pct"] = out["la_code"].map(lambda c: LA_NEET.get(c, (None, None))[0] if isinstance(c, str) else None)
    out["la_not_known_pct"] = out["la_code"].map(lambda c: LA_NEET.get(c, (None, None))[1] if isinstance(c, str) else None)
    out["england_neet_pct"], out["england_not_known_pct"] = 3.0, 1.8
    out["england_comparator_leaving_year"] = out["leaving_year"]
    keep = ["level", "academy_urn", "academy_name", "la_code", "leaving_year", "key_stage", "round",
            "breakdown_topic", "breakdown", "cohort", "neet_denominator", "neet", "not_known", "neet_pct",
            "not_known_pct", "la_neet_pct", "la_not_known_pct", "england_neet_pct",
            "england_not_known_pct", "england_comparator_leaving_year"]
    keep += [c for c in ("suppressed", "suppression_status", "suppressed_measures") if c in out]
    return out[keep].reset_index(drop=True)


NATIONAL_GAPS = {"Disadvantaged vs not disadvantaged": -9.0, "SEN support vs no SEN": -6.0,
                 "EHC plan vs no SEN": -5.0}


def _gaps(dm: pd.DataFrame) -> pd.DataFrame:
    """destination_gaps-shaped rows: group share minus comparison share."""
    defs = [("Disadvantaged vs not disadvantaged", "Disadvantaged", "Not disadvantaged"),
            ("SEN support vs no SEN", "SEN support", "No SEN"), ("EHC plan vs no SEN", "EHC plan", "No SEN")]
    keys = ["level", "academy_urn", "academy_name", "leaving_year", "key_stage", "round"]
    rows = []
    for key, g in dm.groupby(keys, dropna=False, sort=False):
        by = g.set_index("breakdown")
        for order, (gap, grp, ref) in enumerate(defs):
            for m in ("positive", "education", "apprenticeship", "neet"):
                a, b = by.loc[grp, f"{m}_pct"], by.loc[ref, f"{m}_pct"]
                rows.append({**dict(zip(keys, key)), "gap": gap, "gap_order": order, "measure": m,
                             "group_breakdown": grp, "comparison_breakdown": ref,
                             "group_pct": a, "comparison_pct": b,
                             "gap_pp": (a - b) if pd.notna(a) and pd.notna(b) else None,
                             "national_gap_pp": NATIONAL_GAPS[gap] if m == "positive" else None,
                             "national_source": "ees_ks4_destinations" if m == "positive" else None})
    out = pd.DataFrame(rows)
    out["academy_urn"] = out["academy_urn"].astype("string")
    return out
