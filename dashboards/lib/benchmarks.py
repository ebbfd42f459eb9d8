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


_IDX: dict[int, tuple[pd.DataFrame, dict]] = {}


def _index(bm: pd.DataFrame) -> dict:
    """(measure, geography_level) -> usable rows as dicts, memoised per cached frame object."""
    hit = _IDX.get(id(bm))
    if hit is not None and hit[0] is bm:
        return hit[1]
    ok = bm[bm["value"].notna()] if "value" in bm else bm.iloc[0:0]
    if "is_latest" in ok:
        ok = ok[ok["is_latest"].astype("boolean").fillna(False).astype(bool)]
    idx: dict = {}
    for rec in ok.to_dict("records"):
        idx.setdefault((rec.get("measure"), rec.get("geography_level")), []).append(rec)
    if len(_IDX) > 16:
        _IDX.clear()
    _IDX[id(bm)] = (bm, idx)
    return idx


def _s(v) -> str | None:
    return None if v is None or (isinstance(v, float) and v != v) or v is pd.NA else str(v)


GROUP_ORDER = {"mainstream and special": 0, "all": 1, "mainstream": 2}


def pick(bm: pd.DataFrame | None, measure: str, *, key_stage: str | None = None,
         leaving_year: str | None = None, geography_level: str = "national",
         geography_code: str | None = None, breakdown_topic: str = "Total",
         breakdown: str = "Total", sources: tuple[str, ...] | None = None) -> Figure | None:
    """The same year if published, else the latest earlier year, else the latest."""
    if bm is None or bm.empty or "measure" not in bm or "geography_level" not in bm:
        return None
    cand = [r for r in _index(bm).get((measure, geography_level), [])
            if (geography_code is None or _s(r.get("geography_code")) == str(geography_code))
            and (key_stage is None or _s(r.get("key_stage")) in (None, key_stage))
            and (_s(r.get("breakdown_topic")) or "Total") == breakdown_topic
            and (_s(r.get("breakdown")) or "Total") == breakdown
            and (not sources or r.get("source") in sources)]
    if not cand:
        return None
    best_g = min(GROUP_ORDER.get(_s(r.get("institution_group")) or "", 3) for r in cand)
    cand = [r for r in cand if GROUP_ORDER.get(_s(r.get("institution_group")) or "", 3) == best_g]
    same = [r for r in cand if _s(r.get("leaving_year")) == leaving_year] if leaving_year else []
    if same:
        row = same[0]
    else:
        earlier = [r for r in cand if _s(r.get("leaving_year")) and _s(r.get("leaving_year")) <= (leaving_year or "9999")]
        pool = earlier or cand
        row = max(pool, key=lambda r: _s(r.get("leaving_year")) or "")
    return Figure(float(row["value"]), _s(row.get("leaving_year")), str(row.get("source", "")),
                  _s(row.get("publication")))
