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


ROUTE_ALL = [*ROUTE_NAMES.tolist(), "Academic", "Not applicable", ""]
ACADEMIC, NOT_APPLICABLE, NO_ROUTE = 15, 16, 17
LEVEL_ALL = ["", "1", "2", "3", "4+"]
# Every provider template, index 0 = no provider.
TEMPLATES = [""] + sorted({t for v in PROVIDERS.values() for t in v} | set(APPRENTICESHIP_EMPLOYERS))
_TIDX = {t: i for i, t in enumerate(TEMPLATES)}


def _pick_index(rng, table: dict[str, float], n: int, values: list[str]) -> np.ndarray:
    """Indices into `values` drawn with the table's weights."""
    keys = np.array([values.index(k) for k in table])
    p = np.array(list(table.values()))
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def destination_details(rng: np.random.Generator, codes: np.ndarray, male: np.ndarray,
                        key_stage: np.ndarray, acad: np.ndarray, reg: pl.DataFrame,
                        own_sixth_form: np.ndarray) -> pl.DataFrame:
    """route, level, provider, provider_id (strings, "" where not applicable) per code.

    Strings are built in polars from small lookup tables, so a million rows take a second."""
    n = len(codes)
    occ = np.where(male, _sample(rng, P_ROUTE_MALE, n), _sample(rng, P_ROUTE_FEMALE, n))
    acad_share = np.zeros(n)
    for c, sh in C.ACADEMIC_SHARE.items():
        acad_share[codes == c] = sh
    is_occ_code = np.isin(codes, list(OCCUPATIONAL_CODES))
    academic = is_occ_code & (rng.random(n) < acad_share)
    route = np.where(academic, ACADEMIC, np.where(is_occ_code, occ, NOT_APPLICABLE))
    route = np.where(codes == "UND", NO_ROUTE, route)
    level = np.zeros(n, dtype=np.int64)
    ks5 = key_stage != "KS4"
    for c, (t4, t5) in LEVELS.items():
        for table, m in ((t4, (codes == c) & ~ks5), (t5, (codes == c) & ks5)):
            k = int(m.sum())
            if k:
                level[m] = _pick_index(rng, table, k, LEVEL_ALL)
    trn = np.isin(codes, ["410", "430", "440", "450", "460", "550"])
    if trn.any():
        level[trn] = _pick_index(rng, _TRAINING_LEVEL, int(trn.sum()), LEVEL_ALL)
    level = np.where(academic & (codes == "210"), LEVEL_ALL.index("3"), level)
    # Provider template per pupil.
    kind = np.zeros(n, dtype=np.int64)
    tmpl = np.zeros(n, dtype=np.int64)
    tpos = np.zeros(n, dtype=np.int64)
    for c in ("210", "220", "230", "240", "250", "270", "280", "290", "460", "530"):
        m = codes == c
        if m.any():
            names = PROVIDERS[c]
            i = rng.integers(0, len(names), int(m.sum()))
            tmpl[m] = np.array([_TIDX[t] for t in names])[i]
            tpos[m] = i
            kind[m] = _PROVIDER_KIND[c]
    for c_set, key, kid in ((["410", "430", "440", "450", "550"], "training", 12),
                            (["320", "330", "340", "350", "360", "380", "381"], "employment", 13)):
        m = np.isin(codes, c_set)
        if m.any():
            names = PROVIDERS[key]
            i = rng.integers(0, len(names), int(m.sum()))
            tmpl[m] = np.array([_TIDX[t] for t in names])[i]
            tpos[m] = i
            kind[m] = kid
    app = codes == "310"
    if app.any():
        tmpl[app] = np.array([_TIDX[t] for t in APPRENTICESHIP_EMPLOYERS])[occ[app]]
        tpos[app] = occ[app]
        kind[app] = _PROVIDER_KIND["310"]
    la = reg["la_code"].to_numpy()[acad].astype(np.int64)
    # Synthetic identifiers: 8-digit UKPRN-like (10xxxxxx) for colleges, universities,
    # employers and training providers; 6-digit URN for school sixth forms.
    h = (la * 7919 + kind * 104729 + tpos * 15485) % 100000
    hi = np.where(kind == 4, tpos * 7717 % 100000, h)  # universities: national, not per LA
    pid = np.where(kind == 1, 100000 + h % 40000, 10000000 + hi)
    own = own_sixth_form & (codes == "210")
    a = pl.Series(acad, dtype=pl.Int64)
    df = pl.DataFrame({
        "route": pl.Series(ROUTE_ALL).gather(route),
        "level": pl.Series(LEVEL_ALL).gather(level),
        "t": pl.Series(TEMPLATES).gather(tmpl),
        "town": reg["la_name"].gather(a),
        "own_name": reg["name"].gather(a),
        "own_urn": reg["urn"].gather(a),
        "pid": pid, "own": own, "none": kind == 0,
    })
    return df.select(
        "route", "level",
        pl.when(pl.col("own")).then(pl.col("own_name"))
        .otherwise(pl.col("t").str.replace_all("{town}", pl.col("town"), literal=True)).alias("provider"),
        pl.when(pl.col("own")).then(pl.col("own_urn"))
        .when(pl.col("none")).then(pl.lit(""))
        .otherwise(pl.col("pid").cast(pl.Utf8)).alias("provider_id"),
    )


def _sample(rng, p: np.ndarray, n: int) -> np.ndarray:
    return rng.choice(len(p), size=n, p=p)
