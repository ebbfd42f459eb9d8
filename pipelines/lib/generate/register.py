"""The synthetic trust's academy register (raw/academies.csv)."""
from __future__ import annotations

import numpy as np
import polars as pl

# Old (pre-2011) 3-digit LA numbers with the LA name, hard-coded from the DfE list.
# The first block is Greater Manchester + Merseyside (the small/large trust's patch).
LOCAL_AUTHORITIES: dict[int, str] = {
    350: "Bolton", 351: "Bury", 352: "Manchester", 353: "Oldham", 354: "Rochdale",
    355: "Salford", 356: "Stockport", 357: "Tameside", 358: "Trafford", 359: "Wigan",
    340: "Knowsley", 341: "Liverpool", 342: "St Helens", 343: "Sefton", 344: "Wirral",
    876: "Halton", 877: "Warrington", 895: "Cheshire East", 896: "Cheshire West and Chester",
    888: "Lancashire", 889: "Blackburn with Darwen", 890: "Blackpool",
    370: "Barnsley", 371: "Doncaster", 372: "Rotherham", 373: "Sheffield", 380: "Bradford",
    381: "Calderdale", 382: "Kirklees", 383: "Leeds", 384: "Wakefield", 816: "York",
    390: "Gateshead", 391: "Newcastle upon Tyne", 392: "North Tyneside", 393: "South Tyneside",
    394: "Sunderland", 805: "Hartlepool", 806: "Middlesbrough", 808: "Stockton-on-Tees",
    330: "Birmingham", 331: "Coventry", 332: "Dudley", 333: "Sandwell", 334: "Solihull",
    335: "Walsall", 336: "Wolverhampton", 860: "Staffordshire", 861: "Stoke-on-Trent",
    831: "Derby", 830: "Derbyshire", 892: "Nottingham", 891: "Nottinghamshire",
    856: "Leicester", 855: "Leicestershire", 925: "Lincolnshire",
    821: "Luton", 826: "Milton Keynes", 874: "Peterborough", 881: "Essex", 926: "Norfolk",
    935: "Suffolk", 919: "Hertfordshire", 873: "Cambridgeshire",
    204: "Hackney", 211: "Tower Hamlets", 316: "Newham", 209: "Lewisham", 208: "Lambeth",
    210: "Southwark", 306: "Croydon", 304: "Brent", 307: "Ealing", 308: "Enfield",
    850: "Hampshire", 851: "Portsmouth", 852: "Southampton", 886: "Kent", 887: "Medway",
    936: "Surrey", 938: "West Sussex", 846: "Brighton and Hove", 801: "Bristol",
    879: "Plymouth", 878: "Devon", 908: "Cornwall", 866: "Swindon", 865: "Wiltshire",
}
NORTH_WEST = [350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 340, 341, 342, 343, 344,
              876, 877, 895, 896, 888, 889, 890]

PHASES = ("secondary", "all-through", "special", "alternative provision", "16-19")

# The small demo trust: (name, la_code, phase, has_sixth_form, Y11 size, Y13 size for 16-19,
# joined_trust). Ordered so that any --academies N >= 6 still has every phase.
SMALL_TRUST = [
    ("Irwell Valley Academy", 352, "secondary", True, 240, 0, "2016-09-01"),
    ("Pennine Edge Academy", 353, "secondary", False, 190, 0, "2017-04-01"),
    ("Roch Valley Specialist Academy", 351, "special", True, 20, 0, "2018-09-01"),
    ("Northstar Alternative Provision Academy", 352, "alternative provision", False, 30, 0, "2019-01-01"),
    ("Mersey Bank Sixth Form College", 356, "16-19", True, 0, 230, "2017-09-01"),
    ("Douglas Valley All-Through Academy", 359, "all-through", True, 180, 0, "2018-01-01"),
    ("Kersal Moor Academy", 355, "secondary", True, 220, 0, "2016-09-01"),
    ("Healey Dell Academy", 354, "secondary", False, 160, 0, "2019-09-01"),
    ("Bramhall Park Academy", 356, "secondary", True, 260, 0, "2017-09-01"),
    ("Tame Valley Academy", 357, "secondary", False, 125, 0, "2020-01-01"),
    ("Sale Water Academy", 358, "secondary", True, 200, 0, "2024-01-01"),
    ("Smithills Moor Academy", 350, "secondary", False, 170, 0, "2025-09-01"),
]

_NAME_WORDS = ["Park", "Hill", "Moor", "Vale", "Bridge", "Heath", "Fields", "Brook", "Green",
               "Meadow", "Castle", "Forest", "Riverside", "Highfield", "Oakwood", "Ashton",
               "Westbrook", "Kingsway", "Priory", "Beacon"]
_NAME_KINDS = ["Academy", "High School", "Community Academy", "Academy Trust School",
               "School and Sixth Form"]

# Characteristic rates by phase: disadvantaged, SEN support, EHC plan, readiness effect
# (latent z shift), own-sixth-form pull.
PHASE_PROFILE = {
    "secondary": (0.25, 0.125, 0.025, 0.0),
    "all-through": (0.25, 0.125, 0.025, 0.0),
    "special": (0.45, 0.08, 0.88, 0.15),
    "alternative provision": (0.68, 0.50, 0.14, -0.90),
    "16-19": (0.18, 0.08, 0.015, 0.05),
}


def _urns(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct plausible academy URNs (13xxxx-15xxxx)."""
    return 130000 + rng.choice(30000, size=n, replace=False)


def _generated_name(rng, town: str, phase: str, used: set[str]) -> str:
    kinds = {"special": ["Specialist Academy", "Special School"],
             "alternative provision": ["Alternative Provision Academy", "Learning Centre"],
             "16-19": ["Sixth Form College", "16-19 Academy"]}.get(phase, _NAME_KINDS)
    for _ in range(50):
        name = f"{town} {_NAME_WORDS[rng.integers(len(_NAME_WORDS))]} {kinds[rng.integers(len(kinds))]}"
        if name not in used:
            return name
    i = 2
    while f"{name} {i}" in used:
        i += 1
    return f"{name} {i}"


def build_register(scale: str, academies: int | None, seed: int) -> pl.DataFrame:
    """The register as a DataFrame: contract columns plus the generator's own columns
    (la_name, estab_number, laestab, feeder_estab, y11_size, y13_size, disadvantaged_rate,
    sen_support_rate, ehc_rate, readiness_effect)."""
    rng = np.random.default_rng([seed, 1])
    default = {"small": 12, "large": 96, "national": 4850}[scale]
    n = default if academies is None else academies
    rows: list[dict] = []
    for t in SMALL_TRUST[:n]:
        name, la, phase, sf, y11, y13, joined = t
        rows.append(dict(name=name, la_code=la, phase=phase, has_sixth_form=sf,
                         y11_size=y11, y13_size=y13, joined_trust=joined))
    used = {r["name"] for r in rows}
    extra = n - len(rows)
    if extra > 0:
        las = NORTH_WEST if scale != "national" else list(LOCAL_AUTHORITIES)
        la_pick = rng.choice(las, size=extra)
        if scale == "national":
            phase_pick = rng.choice(PHASES, size=extra, p=[0.83, 0.05, 0.05, 0.03, 0.04])
        else:
            phase_pick = np.full(extra, "secondary")
        for la, phase in zip(la_pick.tolist(), phase_pick.tolist()):
            town = LOCAL_AUTHORITIES[la]
            name = _generated_name(rng, town, phase, used)
            used.add(name)
            if phase in ("secondary", "all-through"):
                sf = bool(rng.random() < (0.6 if phase == "secondary" else 1.0))
                y11 = int(np.clip(rng.normal(190, 50), 90, 330))
                y13 = 0
            elif phase == "special":
                sf, y11, y13 = True, int(rng.integers(12, 28)), 0
            elif phase == "alternative provision":
                sf, y11, y13 = False, int(rng.integers(18, 45)), 0
            else:
                sf, y11, y13 = True, 0, int(rng.integers(150, 420))
            joined = f"{int(rng.integers(2013, 2022))}-{rng.choice(['01', '04', '09'])}-01"
            rows.append(dict(name=name, la_code=la, phase=phase, has_sixth_form=sf,
                             y11_size=y11, y13_size=y13, joined_trust=joined))
    reg = pl.DataFrame(rows)
    n = reg.height
    # Establishment numbers: unique within LA; secondary/16-19 4xxx, special 7xxx, AP 11xx.
    # Each academy also owns a "feeder" number (estab + 1) standing for the non-trust
    # schools its external sixth-form joiners came from, so their UPNs never collide.
    base = {"secondary": 4000, "all-through": 4000, "16-19": 4000, "special": 7000,
            "alternative provision": 1100}
    counters: dict[tuple[int, int], int] = {}
    estab = []
    for la, phase in zip(reg["la_code"].to_list(), reg["phase"].to_list()):
        key = (la, base[phase])
        k = counters.get(key, 0)
        counters[key] = k + 1
        estab.append(base[phase] + 10 + 2 * k)
    prof = np.array([PHASE_PROFILE[p] for p in reg["phase"].to_list()])
    # Academy-level variation around the phase profile (deprived inner-city schools etc.).
    dis = np.clip(prof[:, 0] * np.exp(rng.normal(0, 0.25, n)), 0.05, 0.9)
    semk = np.clip(prof[:, 1] * np.exp(rng.normal(0, 0.15, n)), 0.02, 0.7)
    ehc = np.clip(prof[:, 2] * np.exp(rng.normal(0, 0.15, n)), 0.005, 0.95)
    ehc = np.where(reg["phase"].to_numpy() == "special", np.clip(ehc, 0.82, 0.95), ehc)
    eff = prof[:, 3] + rng.normal(0, 0.08, n)
    urn = _urns(rng, n)
    reg = reg.with_columns(
        pl.Series("urn", [f"{u:06d}" for u in urn]),
        pl.Series("estab_number", estab),
        pl.Series("la_name", [LOCAL_AUTHORITIES[la] for la in reg["la_code"].to_list()]),
        pl.Series("disadvantaged_rate", dis),
        pl.Series("sen_support_rate", semk),
        pl.Series("ehc_rate", ehc),
        pl.Series("readiness_effect", eff),
    ).with_columns(
        (pl.col("estab_number") + 1).alias("feeder_estab"),
        (pl.col("la_code").cast(pl.Utf8) + pl.col("estab_number").cast(pl.Utf8).str.zfill(4)).alias("laestab"),
    )
    return reg.select("urn", "name", "la_code", "phase", "has_sixth_form", "joined_trust",
                      "laestab", "estab_number", "la_name", "feeder_estab", "y11_size",
                      "y13_size", "disadvantaged_rate", "sen_support_rate", "ehc_rate",
                      "readiness_effect")


def register_csv_frame(reg: pl.DataFrame) -> pl.DataFrame:
    """raw/academies.csv as academies see it: contract columns + laestab, estab_number, careers_leader_email."""
    return reg.select(
        "urn", "name",
        pl.col("la_code").cast(pl.Utf8).str.zfill(3),
        "phase",
        pl.when(pl.col("has_sixth_form")).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("has_sixth_form"),
        "joined_trust", "laestab",
        pl.col("estab_number").cast(pl.Utf8).str.zfill(4),
        # made-up contact on a reserved example domain (return reminders by email)
        ("careers@" + pl.col("name").str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "-")
         .str.strip_chars("-") + ".example.org").alias("careers_leader_email"),
    )
