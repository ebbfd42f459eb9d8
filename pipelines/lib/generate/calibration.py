"""Calibration targets and model parameters for the synthetic trust.

National figures from research/domain.md: §1.3 (KS4, 2021/22 destinations, mainstream),
§1.4 (16-18), §8 (routes by sex), §9.2 (NCCIS NEET / not known).
"""
from __future__ import annotations

# ---- Targets the tests check (all pupils, mainstream + the trust's special/AP mix) ----
KS4_TARGETS = {
    "positive_pct": 93.6, "education_pct": 86.2, "further_education_pct": 34.7,
    "school_sixth_form_pct": 37.9, "sixth_form_college_pct": 13.1,
    "apprenticeship_pct": 3.4, "employment_pct": 4.0,
    "positive_pct_disadvantaged": 87.7, "positive_pct_not_disadvantaged": 95.7,
    "positive_pct_sen_support": 88.5, "positive_pct_ehc": 90.0,
    "apprenticeship_pct_male": 4.3, "apprenticeship_pct_female": 2.5,
    "neet_pct": 3.0, "not_known_pct": 2.5,
}
KS4_1618_TARGETS = {"positive_pct": 79.0, "apprenticeship_pct_male": 8.3,
                    "apprenticeship_pct_female": 5.1}

# ---- Latent readiness: z = academy effect + group effects + N(0, Z_SD);
# a pupil's actual destination is not positive when z + N(0, E_SD) < threshold.
Z_SD, E_SD = 0.8, 0.6
Z_EFFECT = {"male": -0.07, "disadvantaged": -0.54, "sen_support": -0.30, "ehc": -0.22}
KS4_THRESHOLD = -1.80
KS1618_THRESHOLD = -1.00
# Boys are less often in a sustained destination after 16-18 (82.5% girls vs 76.6% boys).
KS1618_MALE_SHIFT = -0.22

# ---- Positive destinations: category weights (female, not disadvantaged, no SEN) and
# multiplicative effects. KS4 categories:
KS4_CATS = ["school_sixth_form", "sixth_form_college", "further_education", "other_education",
            "apprenticeship", "employment", "training"]
KS4_BASE = [0.455, 0.19, 0.295, 0.006, 0.028, 0.034, 0.006]
KS4_MULT = {
    "male":          [0.93, 0.77, 1.12, 1.0, 1.75, 1.15, 1.1],
    "disadvantaged": [0.62, 0.76, 1.45, 1.5, 0.75, 1.65, 2.0],
    "sen_support":   [0.55, 0.55, 1.60, 3.0, 1.05, 1.45, 3.0],
    "ehc":           [0.45, 0.45, 1.75, 25.0, 0.45, 0.90, 6.0],
    "has_sixth_form": [1.28, 0.90, 0.95, 1.0, 1.0, 1.0, 1.0],
    "no_sixth_form": [0.72, 1.12, 1.12, 1.0, 1.0, 1.0, 1.0],
    "special":       [2.5, 0.3, 1.0, 3.0, 0.8, 0.8, 2.0],
    "alternative provision": [0.12, 0.4, 1.35, 2.0, 1.0, 1.6, 3.0],
}
# 16-18 categories (after Year 13; year 12 leavers cannot enter HE yet):
KS5_CATS = ["higher_education", "further_education", "other_education", "apprenticeship",
            "employment", "training"]
KS5_BASE = [0.60, 0.055, 0.02, 0.055, 0.26, 0.01]
KS5_MULT = {
    "male":          [0.82, 1.05, 1.0, 1.70, 1.12, 1.1],
    "disadvantaged": [0.72, 1.40, 1.3, 0.95, 1.25, 1.8],
    "sen_support":   [0.70, 1.50, 2.0, 1.0, 1.3, 2.5],
    "ehc":           [0.35, 2.00, 8.0, 0.5, 0.9, 6.0],
    "year_12":       [0.03, 4.0, 2.0, 2.0, 1.5, 2.0],
}

# Share of a positive pupil's 210 that is the academy's own sixth form.
OWN_SIXTH_FORM_SHARE = 0.88
# After Year 11 in the own sixth form: leave after Year 12 / 13 / 14.
SIXTH_FORM_EXIT = (0.06, 0.91, 0.03)
# External Year 12 joiners as a share of the internal Year 13 cohort.
EXTERNAL_JOINER_SHARE = 0.22

# ---- Not positive: NEET / not known / other split ----
KS4_NEGATIVE_SPLIT = {"neet": 0.40, "not_known": 0.47, "re_engagement": 0.125, "custody": 0.005}
KS5_NEGATIVE_SPLIT = {"neet": 0.33, "not_known": 0.30, "gap_year": 0.34, "re_engagement": 0.025,
                      "custody": 0.005}

# ---- Codes within a category (code -> weight) ----
CODES = {
    "school_sixth_form": {"210": 1.0},
    "sixth_form_college": {"220": 1.0},
    "further_education": {"230": 1.0},
    "higher_education": {"240": 1.0},
    "other_education": {"270": 0.5, "250": 0.38, "280": 0.1, "290": 0.02},
    "other_education_ehc": {"280": 0.85, "270": 0.1, "250": 0.05},
    "apprenticeship": {"310": 1.0},
    "employment": {"320": 0.1, "330": 0.25, "340": 0.3, "350": 0.1, "360": 0.2, "380": 0.03,
                   "381": 0.02},
    "training": {"410": 0.3, "430": 0.25, "440": 0.05, "450": 0.15, "460": 0.15, "550": 0.1},
    "training_ehc": {"460": 0.75, "430": 0.15, "410": 0.1},
    "neet": {"619": 0.45, "610": 0.18, "615": 0.05, "616": 0.05, "640": 0.08, "630": 0.04,
             "650": 0.03, "620": 0.04, "680": 0.05, "670": 0.01, "660": 0.005, "540": 0.015},
    "not_known": {"810": 0.75, "820": 0.15, "830": 0.10},
    "re_engagement": {"530": 1.0},
    "gap_year": {"260": 1.0},
    "custody": {"710": 1.0},
}

# ---- Intended rounds ----
# Alternative intentions when a pupil's plan differs from what happened.
KS4_INTENT_ALT = {"210": 0.42, "220": 0.16, "230": 0.28, "310": 0.10, "340": 0.03, "430": 0.01}
KS5_INTENT_ALT = {"240": 0.50, "310": 0.16, "230": 0.08, "340": 0.14, "330": 0.06, "260": 0.06}
R2_SAME_IF_POSITIVE = 0.85
R2_UND_IF_POSITIVE = 0.02
R2_UND_IF_NEGATIVE = 0.30
R1_SAME_AS_R2 = 0.80
R1_UND = 0.10

# ---- Routes (contract §5) with relative popularity in occupational courses and the
# female share (domain §8; others plausible).
ROUTES = [
    # route, popularity, female share
    ("Agriculture, environmental and animal care", 4, 0.62),
    ("Business and administration", 9, 0.60),
    ("Care services", 5, 0.813),
    ("Catering and hospitality", 5, 0.45),
    ("Construction and the built environment", 10, 0.08),
    ("Creative and design", 10, 0.62),
    ("Digital", 8, 0.30),
    ("Education and early years", 6, 0.932),
    ("Engineering and manufacturing", 10, 0.087),
    ("Hair and beauty", 5, 0.935),
    ("Health and science", 10, 0.744),
    ("Legal, finance and accounting", 3, 0.55),
    ("Protective services", 4, 0.35),
    ("Sales, marketing and procurement", 2, 0.50),
    ("Transport and logistics", 3, 0.17),
]
# Share of each destination code's courses that are Academic (A levels, IB, degrees).
ACADEMIC_SHARE = {"210": 0.82, "220": 0.78, "230": 0.08, "240": 0.80}

# ---- Characteristics ----
MALE_SHARE = 0.51
FSM_GIVEN_DISADVANTAGED = 0.93
LOOKED_AFTER_GIVEN_DISADVANTAGED = 0.04
SEN_SUPPORT_DISADVANTAGED_FACTOR = 1.6   # SEN support more common among disadvantaged
TEMPORARY_UPN_SHARE = 0.003
ETHNICITY = {
    "WBRI": 0.62, "WIRI": 0.003, "WIRT": 0.001, "WROM": 0.004, "WOTH": 0.055,
    "MWBC": 0.016, "MWBA": 0.009, "MWAS": 0.016, "MOTH": 0.02,
    "AIND": 0.035, "APKN": 0.048, "ABAN": 0.018, "AOTH": 0.02,
    "BAFR": 0.042, "BCRB": 0.01, "BOTH": 0.008, "CHNE": 0.005, "OOTH": 0.02,
    "REFU": 0.006, "NOBT": 0.006,
}
CONSENT_SHARE = 0.86
# Pupils missing from one round (late joiners / left before the round): rare.
MISSING_FROM_ROUND = {"R1": 0.008, "R2": 0.004, "R3": 0.004}
