"""Vectorised pupil model: cohorts, characteristics, readiness, destinations, intentions.

Every function takes a numpy Generator and works on whole cohorts (all academies at once),
so national scale (about a million leavers a year) stays a few seconds per cohort.
"""
from __future__ import annotations

import numpy as np
import polars as pl

from . import calibration as C
from .upns import make_upns

SEN_CODES = np.array(["N", "K", "E"])
ETH_CODES = np.array(list(C.ETHNICITY))


def _sample_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(probs))[:, None]
    return np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1)


def _pick(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    keys = np.array(list(table))
    p = np.array(list(table.values()), dtype=float)
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def readiness_from_z(z: np.ndarray) -> np.ndarray:
    """Latent z -> readiness in (0, 1): higher = more career-ready."""
    return 1.0 / (1.0 + np.exp(-1.5 * (z + 0.3)))


def characteristics(rng: np.random.Generator, reg: pl.DataFrame, acad: np.ndarray) -> dict:
    """Sex, disadvantage, FSM, looked after, SEN, ethnicity and latent z for pupils at acad."""
    n = len(acad)
    dis_rate = reg["disadvantaged_rate"].to_numpy()[acad]
    k_rate = reg["sen_support_rate"].to_numpy()[acad]
    e_rate = reg["ehc_rate"].to_numpy()[acad]
    male = rng.random(n) < C.MALE_SHARE
    dis = rng.random(n) < dis_rate
    fsm = dis & (rng.random(n) < C.FSM_GIVEN_DISADVANTAGED)
    lac = dis & (rng.random(n) < C.LOOKED_AFTER_GIVEN_DISADVANTAGED)
    # SEN support is more common among disadvantaged pupils; the factors average to 1.
    f = C.SEN_SUPPORT_DISADVANTAGED_FACTOR
    base = 1.0 / (dis_rate * f + (1 - dis_rate))
    k_eff = np.minimum(k_rate * np.where(dis, f, 1.0) * base, 1.0 - e_rate)
    u = rng.random(n)
    sen = np.where(u < e_rate, 2, np.where(u < e_rate + k_eff, 1, 0))
    # Ethnicity: each academy has its own mix around the national one (seeded per academy).
    eth_p = np.array(list(C.ETHNICITY.values()))
    eth_p /= eth_p.sum()
    urns = reg["urn"].to_numpy().astype(np.int64)
    mix = np.stack([np.random.default_rng([int(u_), 7]).dirichlet(eth_p * 60) for u_ in urns])
    eth = ETH_CODES[_sample_rows(rng, mix[acad])]
    eff = reg["readiness_effect"].to_numpy()[acad]
    z = (eff + C.Z_EFFECT["male"] * male + C.Z_EFFECT["disadvantaged"] * dis
         + C.Z_EFFECT["sen_support"] * (sen == 1) + C.Z_EFFECT["ehc"] * (sen == 2)
         + rng.normal(0, C.Z_SD, n))
    return {"male": male, "disadvantaged": dis, "fsm_eligible": fsm, "looked_after": lac,
            "sen": sen, "ethnicity": eth, "z": z}


def _positive_weights(base, mult, flags: dict[str, np.ndarray]) -> np.ndarray:
    logw = np.tile(np.log(np.array(base)), (len(next(iter(flags.values()))), 1))
    for name, flag in flags.items():
        logw += np.outer(flag.astype(float), np.log(np.array(mult[name])))
    w = np.exp(logw)
    return w / w.sum(axis=1, keepdims=True)


def actual_destinations(rng: np.random.Generator, reg: pl.DataFrame, acad: np.ndarray,
                        ch: dict, key_stage: str, year_group: np.ndarray) -> np.ndarray:
    """R3 actual destination codes calibrated to the national figures."""
    n = len(acad)
    male, dis, sen = ch["male"], ch["disadvantaged"], ch["sen"]
    ks4 = key_stage == "KS4"
    thr = C.KS4_THRESHOLD if ks4 else C.KS1618_THRESHOLD
    shift = 0.0 if ks4 else C.KS1618_MALE_SHIFT * ch["male"]
    negative = ch["z"] + shift + rng.normal(0, C.E_SD, n) < thr
    phase = reg["phase"].to_numpy()[acad]
    has_sf = reg["has_sixth_form"].to_numpy()[acad]
    flags = {"male": male, "disadvantaged": dis, "sen_support": sen == 1, "ehc": sen == 2}
    if ks4:
        flags |= {"has_sixth_form": has_sf & (phase != "special"),
                  "no_sixth_form": ~has_sf & (phase != "alternative provision"),
                  "special": phase == "special",
                  "alternative provision": phase == "alternative provision"}
        cats, probs = C.KS4_CATS, _positive_weights(C.KS4_BASE, C.KS4_MULT, flags)
        split = C.KS4_NEGATIVE_SPLIT
    else:
        flags |= {"year_12": year_group == 12}
        cats, probs = C.KS5_CATS, _positive_weights(C.KS5_BASE, C.KS5_MULT, flags)
        split = C.KS5_NEGATIVE_SPLIT
    pos_cat = np.array(cats)[_sample_rows(rng, probs)]
    neg_cat = _pick(rng, split, n)
    # Lower readiness: NEET rather than not known.
    low = ch["z"] < np.quantile(ch["z"], 0.2) if n else np.zeros(0, bool)
    neg_cat = np.where((neg_cat == "not_known") & low & (rng.random(n) < 0.3), "neet", neg_cat)
    cat = np.where(negative, neg_cat, pos_cat)
    ehc = sen == 2
    codes = np.empty(n, dtype="<U3")
    for name in np.unique(cat):
        for variant, mask in ((name, (cat == name) & ~ehc), (name + "_ehc", (cat == name) & ehc)):
            table = C.CODES.get(variant, C.CODES[name])
            m = int(mask.sum())
            if m:
                codes[mask] = _pick(rng, table, m)
    return codes


def ks4_cohort(reg: pl.DataFrame, start_year: int, seed: int) -> pl.DataFrame:
    """Every Year 11 pupil of one leaving year (start_year = autumn it starts) at every
    academy with Year 11, with actual destination and own-sixth-form path."""
    rng = np.random.default_rng([seed, 11, start_year])
    y11 = reg["y11_size"].to_numpy()
    idx = np.nonzero(y11 > 0)[0]
    sizes = np.clip(np.round(y11[idx] * np.exp(rng.normal(0, 0.06, len(idx)))), 5, 990).astype(int)
    acad = np.repeat(idx, sizes)
    n = len(acad)
    serial = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    ch = characteristics(rng, reg, acad)
    temporary = rng.random(n) < C.TEMPORARY_UPN_SHARE
    la = reg["la_code"].to_numpy()[acad]
    estab = reg["estab_number"].to_numpy()[acad]
    # UPN allocation year: the calendar year the pupil entered Year 7.
    upn = make_upns(la, estab, np.full(n, (start_year - 4) % 100), serial, temporary)
    yg = np.full(n, 11)
    codes = actual_destinations(rng, reg, acad, ch, "KS4", yg)
    phase = reg["phase"].to_numpy()[acad]
    has_sf = reg["has_sixth_form"].to_numpy()[acad]
    own_share = np.where(phase == "special", 0.95, C.OWN_SIXTH_FORM_SHARE)
    own = (codes == "210") & has_sf & (rng.random(n) < own_share)
    exit_after = np.where(own, rng.choice([1, 2, 3], size=n, p=C.SIXTH_FORM_EXIT), 0)
    return _frame(acad, upn, yg, ch, codes, start_year, "KS4").with_columns(
        pl.Series("own_sixth_form", own), pl.Series("sixth_form_years", exit_after))


def ks5_cohort(reg: pl.DataFrame, start_year: int, seed: int,
               ks4_by_year: dict[int, pl.DataFrame], current: bool = False) -> pl.DataFrame:
    """Year 12-14 leavers of one leaving year: own Year 11s who stayed on (same UPN and
    characteristics) plus external joiners; a 16-19 academy has only joiners."""
    rng = np.random.default_rng([seed, 13, start_year])
    parts = []
    for k in (1, 2, 3):
        if current and k == 1:
            continue  # in the autumn nobody yet knows who will leave after Year 12
        src = ks4_by_year.get(start_year - k)
        if src is None:
            continue
        parts.append(src.filter(pl.col("own_sixth_form") & (pl.col("sixth_form_years") == k))
                     .with_columns(pl.lit(11 + k).alias("year_group")))
    cols = ["academy_idx", "upn", "male", "disadvantaged", "fsm_eligible", "looked_after",
            "sen", "ethnicity", "z", "year_group"]
    internal = pl.concat([p.select(cols) for p in parts]) if parts else None
    n_int = internal.height if internal is not None else 0
    # External joiners per academy with a sixth form.
    has_sf = reg["has_sixth_form"].to_numpy()
    counts = np.bincount(internal["academy_idx"].to_numpy(), minlength=reg.height) if n_int \
        else np.zeros(reg.height, int)
    y13 = reg["y13_size"].to_numpy()
    n_ext = np.where(y13 > 0, np.round(y13 * np.exp(rng.normal(0, 0.06, reg.height))),
                     np.round(counts * C.EXTERNAL_JOINER_SHARE * np.exp(rng.normal(0, 0.15, reg.height))))
    n_ext = np.where(has_sf, np.clip(n_ext, 0, 990), 0).astype(int)
    acad = np.repeat(np.arange(reg.height), n_ext)
    m = len(acad)
    ch = characteristics(rng, reg, acad)
    serial = np.arange(m) - np.repeat(np.cumsum(n_ext) - n_ext, n_ext)
    temporary = rng.random(m) < C.TEMPORARY_UPN_SHARE
    upn = make_upns(reg["la_code"].to_numpy()[acad], reg["feeder_estab"].to_numpy()[acad],
                    np.full(m, (start_year - 6) % 100), serial, temporary)
    ext = pl.DataFrame({"academy_idx": acad, "upn": upn, "male": ch["male"],
                        "disadvantaged": ch["disadvantaged"], "fsm_eligible": ch["fsm_eligible"],
                        "looked_after": ch["looked_after"], "sen": ch["sen"],
                        "ethnicity": ch["ethnicity"], "z": ch["z"],
                        "year_group": np.full(m, 13)},
                       schema_overrides={"upn": pl.Utf8, "ethnicity": pl.Utf8})
    ext = ext.with_columns(pl.col("sen").cast(pl.Int64), pl.col("year_group").cast(pl.Int32),
                           pl.col("academy_idx").cast(pl.Int64))
    frames = [ext]
    if n_int:
        internal = internal.with_columns(pl.col("sen").cast(pl.Int64),
                                         pl.col("year_group").cast(pl.Int32),
                                         pl.col("academy_idx").cast(pl.Int64))
        # Two more years of growing up: readiness drifts a little.
        internal = internal.with_columns(
            pl.Series("z", 0.85 * internal["z"].to_numpy() + rng.normal(0, 0.35, n_int)))
        frames.insert(0, internal)
    allp = pl.concat(frames, how="vertical_relaxed").sort(["academy_idx", "upn"])
    a = allp["academy_idx"].to_numpy()
    ch2 = {k: allp[c].to_numpy() for k, c in
           [("male", "male"), ("disadvantaged", "disadvantaged"), ("fsm_eligible", "fsm_eligible"),
            ("looked_after", "looked_after"), ("sen", "sen"), ("ethnicity", "ethnicity"), ("z", "z")]}
    yg = allp["year_group"].to_numpy()
    codes = actual_destinations(rng, reg, a, ch2, "16-18", yg)
    return _frame(a, allp["upn"].to_numpy(), yg, ch2, codes, start_year, "16-18")


def _frame(acad, upn, yg, ch, codes, start_year, key_stage) -> pl.DataFrame:
    return pl.DataFrame({
        "academy_idx": np.asarray(acad, dtype=np.int64), "upn": upn,
        "year_group": np.asarray(yg, dtype=np.int32), "male": ch["male"],
        "disadvantaged": ch["disadvantaged"], "fsm_eligible": ch["fsm_eligible"],
        "looked_after": ch["looked_after"], "sen": np.asarray(ch["sen"], dtype=np.int64),
        "ethnicity": ch["ethnicity"], "z": ch["z"], "actual_code": codes,
    }, schema_overrides={"upn": pl.Utf8, "ethnicity": pl.Utf8, "actual_code": pl.Utf8}).with_columns(
        pl.lit(start_year).alias("start_year"), pl.lit(key_stage).alias("key_stage"),
        pl.Series("readiness", readiness_from_z(np.asarray(ch["z"], dtype=float))))


NEGATIVE_GROUPS = {"neet", "not_known", "other", "excluded"}


def intended_destinations(rng: np.random.Generator, actual: np.ndarray, z: np.ndarray,
                          key_stage: np.ndarray, negative: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R1, R2) intended codes given the actual code: most intentions are realised; plans
    change; low-readiness pupils are more often undecided; NEET/not known actuals had a plan
    (or none) that did not happen."""
    n = len(actual)
    alt = np.where(key_stage == "KS4", _pick(rng, C.KS4_INTENT_ALT, n), _pick(rng, C.KS5_INTENT_ALT, n))
    # alternative must differ from actual for "changed" plans; re-draw once where equal
    alt2 = np.where(key_stage == "KS4", _pick(rng, C.KS4_INTENT_ALT, n), _pick(rng, C.KS5_INTENT_ALT, n))
    alt = np.where(alt == actual, alt2, alt)
    readiness = readiness_from_z(z)
    u = rng.random(n)
    und_pos = C.R2_UND_IF_POSITIVE * (1.6 - readiness)
    r2 = np.where(negative,
                  np.where(u < C.R2_UND_IF_NEGATIVE, "UND", alt),
                  np.where(u < C.R2_SAME_IF_POSITIVE, actual,
                           np.where(u < C.R2_SAME_IF_POSITIVE + und_pos, "UND", alt)))
    # Gap year and re-engagement are sometimes planned.
    r2 = np.where(np.isin(actual, ["260", "530"]) & (rng.random(n) < 0.4), actual, r2)
    v = rng.random(n)
    und1 = C.R1_UND * (1.7 - 1.2 * readiness)
    alt_r1 = np.where(key_stage == "KS4", _pick(rng, C.KS4_INTENT_ALT, n), _pick(rng, C.KS5_INTENT_ALT, n))
    r1 = np.where(r2 == "UND", np.where(v < 0.9, "UND", alt_r1),
                  np.where(v < und1, "UND", np.where(v < und1 + C.R1_SAME_AS_R2, r2, alt_r1)))
    return r1.astype("<U3"), r2.astype("<U3")


def september_guarantee(rng: np.random.Generator, round_id: str, intended: np.ndarray,
                        actual_negative: np.ndarray, year_group: np.ndarray) -> np.ndarray:
    """Offer status for Year 11/12 leavers in intended rounds; blank for Year 13/14."""
    n = len(intended)
    p_offer = np.where(intended == "UND", 0.45, np.where(actual_negative, 0.72, 0.955))
    if round_id == "R1":
        p_offer = p_offer * 0.55
        rest = {"not_recorded": 0.80, "no_offer": 0.17, "not_appropriate": 0.03}
    else:
        rest = {"no_offer": 0.55, "not_recorded": 0.27, "not_appropriate": 0.18}
    other = _pick(rng, rest, n)
    sg = np.where(rng.random(n) < p_offer, "offer_made", other)
    return np.where(year_group <= 12, sg, "")
