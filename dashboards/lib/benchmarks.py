"""Pick the published national / LA figure to set beside a trust figure."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

DEST_SOURCES = {"KS4": ("ees_ks4_destinations", "performance_tables_ks4"),
                "16-18": ("ees_1618_destinations", "performance_tables_1618")}


@dataclass(frozen=True)
class Figure:
    value: float
    leaving_year: str | None
    source: str
    publication: str | None

    def describe(self) -> str:
        yr = f" {self.leaving_year}" if self.leaving_year else ""
        return f"{self.source}{yr}" + (f" ({self.publication})" if self.publication else "")


def pick(bm: pd.DataFrame | None, measure: str, *, key_stage: str | None = None,
         leaving_year: str | None = None, geography_level: str = "national",
         geography_code: str | None = None, breakdown_topic: str = "Total",
         breakdown: str = "Total", sources: tuple[str, ...] | None = None) -> Figure | None:
    """The same year if published, else the latest earlier year, else the latest."""
    if bm is None or bm.empty or "measure" not in bm:
        return None
    m = (bm["measure"] == measure) & (bm["geography_level"] == geography_level)
    if geography_code is not None and "geography_code" in bm:
        m &= bm["geography_code"].astype("string") == str(geography_code)
    if key_stage is not None and "key_stage" in bm:
        m &= (bm["key_stage"] == key_stage) | bm["key_stage"].isna()
    if "breakdown_topic" in bm:
        m &= (bm["breakdown_topic"].fillna("Total") == breakdown_topic) & \
             (bm["breakdown"].fillna("Total") == breakdown)
    if sources and "source" in bm:
        m &= bm["source"].isin(sources)
    if "is_latest" in bm:
        m &= bm["is_latest"].fillna(False).astype(bool)
    if "value" in bm:
        m &= bm["value"].notna()
    if "institution_group" in bm:
        # prefer the all-schools group when several are published
        pass
    cand = bm[m]
    if cand.empty:
        return None
    if "institution_group" in cand:
        order = {"mainstream and special": 0, "all": 1, "mainstream": 2}
        cand = cand.assign(_g=cand["institution_group"].map(order).fillna(3)).sort_values("_g")
        cand = cand[cand["_g"] == cand["_g"].iloc[0]]
    ly = cand["leaving_year"].astype("string") if "leaving_year" in cand else pd.Series(pd.NA, index=cand.index)
    if leaving_year is not None and (ly == leaving_year).any():
        row = cand[ly == leaving_year].iloc[0]
    else:
        earlier = cand[ly.notna() & (ly <= (leaving_year or "9999"))]
        pool = earlier if not earlier.empty else cand
        pool = pool.assign(_ly=pool["leaving_year"].astype("string").fillna("")) if "leaving_year" in pool else pool.assign(_ly="")
        row = pool.sort_values("_ly").iloc[-1]
    return Figure(float(row["value"]),
                  None if pd.isna(row.get("leaving_year")) else str(row.get("leaving_year")),
                  str(row.get("source", "")), None if pd.isna(row.get("publication")) else str(row.get("publication")))
