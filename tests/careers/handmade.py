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
