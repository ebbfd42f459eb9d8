"""Route, level and provider of a destination (vectorised)."""
from __future__ import annotations

import numpy as np
import polars as pl

from . import calibration as C

ROUTE_NAMES = np.array([r[0] for r in C.ROUTES])
_POP = np.array([r[1] for r in C.ROUTES], dtype=float)
_FEMALE = np.array([r[2] for r in C.ROUTES])
# P(route | sex) proportional to popularity x that sex's share of the route.
P_ROUTE_FEMALE = _POP * _FEMALE / (_POP * _FEMALE).sum()
P_ROUTE_MALE = _POP * (1 - _FEMALE) / (_POP * (1 - _FEMALE)).sum()

OCCUPATIONAL_CODES = {"210", "220", "230", "240", "250", "270", "280", "290", "310",
                      "410", "430", "440", "450", "460", "550"}

# Level distributions by code (KS4 leavers, 16-18 leavers).
LEVELS = {
    "210": ({"3": 0.85, "2": 0.15}, {"3": 0.7, "4+": 0.3}),
    "220": ({"3": 0.88, "2": 0.12}, {"3": 0.7, "4+": 0.3}),
    "230": ({"1": 0.22, "2": 0.38, "3": 0.40}, {"2": 0.25, "3": 0.5, "4+": 0.25}),
    "240": ({"4+": 1.0}, {"4+": 1.0}),
    "250": ({"1": 0.4, "2": 0.4, "3": 0.2}, {"2": 0.4, "3": 0.4, "4+": 0.2}),
    "270": ({"2": 0.4, "3": 0.6}, {"3": 0.6, "4+": 0.4}),
    "280": ({"1": 0.7, "2": 0.3}, {"1": 0.7, "2": 0.3}),
    "290": ({"1": 0.6, "2": 0.4}, {"1": 0.6, "2": 0.4}),
    "310": ({"2": 0.6, "3": 0.4}, {"2": 0.2, "3": 0.5, "4+": 0.3}),
}
_TRAINING_LEVEL = {"1": 0.6, "2": 0.4}

# Provider name templates by destination code ({town} = the academy's LA).
PROVIDERS = {
    "210": ["{town} Grammar School Sixth Form", "{town} High School Sixth Form",
            "St Ambrose’s College Sixth Form, {town}"],
    "220": ["{town} Sixth Form College", "St Mary’s Sixth Form College, {town}",
            "Holy Cross Sixth Form College, {town}"],
    "230": ["{town} College", "{town} College of Technology", "The {town} and District College"],
    "240": ["University of Manchester", "Manchester Metropolitan University", "University of Salford",
            "University of Leeds", "University of Liverpool", "Lancaster University",
            "Edge Hill University", "University of Sheffield", "University of Bolton",
            "Liverpool John Moores University", "University of Birmingham", "King’s College London",
            "University of Central Lancashire", "University of Chester"],
    "250": ["{town} Adult and Community Learning"],
    "270": ["{town} Independent College"],
    "280": ["{town} Specialist Further Education College"],
    "290": ["Wetherby Young Offender Institution"],
    "training": ["{town} Training Centre", "The Prince’s Trust {town}", "{town} Skills Academy"],
    "460": ["{town} Supported Internship Programme"],
    "530": ["{town} Youth Re-engagement Project"],
    "employment": ["{town} Borough Council", "Café Nero {town}", "{town} Motors Ltd",
                   "{town} Logistics Ltd", "Brasserie Renée, {town}", "{town} Family Butchers",
                   "{town} Retail Park Stores"],
}
# Apprenticeship employers by route (same order as calibration.ROUTES).
APPRENTICESHIP_EMPLOYERS = [
    "{town} Garden Centre", "{town} Borough Council", "{town} Care Homes Ltd", "Café Rouge {town}",
    "{town} Builders Ltd", "{town} Media Studio", "{town} Digital Ltd", "{town} Day Nursery",
    "{town} Precision Engineering Ltd", "Salon Élan {town}", "NHS {town} Foundation Trust",
    "{town} Accountants LLP", "{town} Fire and Rescue Service", "{town} Retail Group",
    "{town} Logistics Ltd",
]
_PROVIDER_KIND = {"210": 1, "220": 2, "230": 3, "240": 4, "250": 5, "270": 6, "280": 7, "290": 8,
                  "460": 9, "530": 10, "310": 11}


def _pick_from(rng, table: dict[str, float], n: int) -> np.ndarray:
    keys = np.array(list(table))
    p = np.array(list(table.values()))
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def destination_details(rng: np.random.Generator, codes: np.ndarray, male: np.ndarray,
                        key_stage: np.ndarray, town: np.ndarray, la: np.ndarray,
                        own_name: np.ndarray, own_urn: np.ndarray, own_sixth_form: np.ndarray) -> dict:
    """route, level, provider, provider_id for each code (blank where not applicable)."""
    n = len(codes)
    # Route: Academic share for sixth forms/HE, otherwise occupational by sex pattern.
    occ = np.where(male, _sample(rng, P_ROUTE_MALE, n), _sample(rng, P_ROUTE_FEMALE, n))
    acad_share = np.zeros(n)
    for c, s in C.ACADEMIC_SHARE.items():
        acad_share[codes == c] = s
    is_occ_code = np.isin(codes, list(OCCUPATIONAL_CODES))
    academic = is_occ_code & (rng.random(n) < acad_share)
    route = np.where(academic, "Academic", np.where(is_occ_code, ROUTE_NAMES[occ], "Not applicable"))
    route = np.where(codes == "UND", "", route)
    # Level.
    level = np.full(n, "", dtype="<U2")
    ks5 = key_stage != "KS4"
    for c, (t4, t5) in LEVELS.items():
        for table, m in ((t4, (codes == c) & ~ks5), (t5, (codes == c) & ks5)):
            k = int(m.sum())
            if k:
                level[m] = _pick_from(rng, table, k)
    trn = np.isin(codes, ["410", "430", "440", "450", "460", "550"])
    if trn.any():
        level[trn] = _pick_from(rng, _TRAINING_LEVEL, int(trn.sum()))
    level = np.where(academic & (codes == "210"), "3", level)
    # Provider: choose a template per pupil, fill in the town.
    kind = np.zeros(n, dtype=np.int64)
    tmpl = np.full(n, "", dtype=object)
    tidx = np.zeros(n, dtype=np.int64)
    groups = {c: PROVIDERS[c] for c in ("210", "220", "230", "240", "250", "270", "280", "290", "460", "530")}
    for c, names in groups.items():
        m = codes == c
        if m.any():
            i = rng.integers(0, len(names), int(m.sum()))
            tmpl[m] = np.array(names, dtype=object)[i]
            tidx[m] = i
            kind[m] = _PROVIDER_KIND[c]
    for c_set, key, kid in ((["410", "430", "440", "450", "550"], "training", 12),
                            (["320", "330", "340", "350", "360", "380", "381"], "employment", 13)):
        m = np.isin(codes, c_set)
        if m.any():
            names = PROVIDERS[key]
            i = rng.integers(0, len(names), int(m.sum()))
            tmpl[m] = np.array(names, dtype=object)[i]
            tidx[m] = i
            kind[m] = kid
    app = codes == "310"
    if app.any():
        tmpl[app] = np.array(APPRENTICESHIP_EMPLOYERS, dtype=object)[occ[app]]
        tidx[app] = occ[app]
    town_s = pl.Series(town.astype(str))
    prov = (pl.DataFrame({"t": pl.Series(tmpl.astype(str)), "town": town_s})
            .select(pl.col("t").str.replace_all("{town}", pl.col("town"), literal=True))
            .to_series().to_numpy().astype(object))
    # Synthetic identifiers: 8-digit UKPRN-like (10xxxxxx) for colleges, universities,
    # employers and training providers; 6-digit URN for school sixth forms.
    h = (la.astype(np.int64) * 7919 + kind * 104729 + tidx * 15485) % 100000
    hi = np.where(kind == 4, tidx * 7717 % 100000, h)  # universities: national, not per LA
    pid = np.where(kind == 1, (100000 + h % 40000).astype(str), (10000000 + hi).astype(str))
    pid = np.where(kind == 0, "", pid).astype(object)
    own = own_sixth_form & (codes == "210")
    prov = np.where(own, own_name, prov)
    pid = np.where(own, own_urn, pid)
    return {"route": route.astype(str), "level": level.astype(str), "provider": prov.astype(str),
            "provider_id": pid.astype(str)}


def _sample(rng, p: np.ndarray, n: int) -> np.ndarray:
    return rng.choice(len(p), size=n, p=p)
