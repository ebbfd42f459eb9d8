"""National and LA comparators from benchmark_measures (published DfE / NCCIS figures)."""
from __future__ import annotations

import re
from dataclasses import dataclass

INSTITUTION_PREFERENCE = ("mainstream and special", "mainstream", "all", None)
KS_SOURCES = {
    "KS4": ("ees_ks4_destinations", "performance_tables_ks4"),
    "16-18": ("ees_1618_destinations", "performance_tables_1618"),
}


@dataclass(frozen=True)
class Benchmark:
    value: float
    leaving_year: str | None
    period: str | None
    source: str
    publication: str | None
    institution_group: str | None
    caveat: str | None

    @property
    def when(self) -> str:
        if self.leaving_year:
            return f"{self.leaving_year} leavers"
        return str(self.period or "")


def _year_num(text) -> int | None:
    m = re.search(r"(\d{4})", str(text or ""))
    return int(m.group(1)) if m else None


class Benchmarks:
    def __init__(self, rows: list[dict] | None):
        self.rows = [r for r in (rows or []) if r.get("value") is not None and not r.get("suppressed")
                     and r.get("is_latest") is not False]

    def __bool__(self) -> bool:
        return bool(self.rows)

    def _pick(self, cands: list[dict]) -> Benchmark | None:
        if not cands:
            return None
        inst = {g: i for i, g in enumerate(INSTITUTION_PREFERENCE)}
        best = max(cands, key=lambda r: (
            str(r.get("leaving_year") or ""), str(r.get("period") or ""),
            -inst.get(r.get("institution_group"), len(inst)),
            r.get("publication_order") or 0, str(r.get("publication") or "")))
        return Benchmark(float(best["value"]), best.get("leaving_year"), best.get("period"),
                         str(best.get("source")), best.get("publication"), best.get("institution_group"),
                         best.get("caveat"))

    def destination(self, key_stage: str, topic: str, breakdown: str, measure: str, year: str,
                    institution_group: str | None = "__any__") -> Benchmark | None:
        """National DfE figure for this sub-group and measure, the newest leaving year <= year."""
        srcs = KS_SOURCES.get(key_stage, ())
        cands = [r for r in self.rows
                 if r.get("geography_level") == "national" and r.get("key_stage") == key_stage
                 and r.get("source") in srcs and r.get("breakdown_topic") == topic
                 and r.get("breakdown") == breakdown and r.get("measure") == measure
                 and r.get("leaving_year") and str(r["leaving_year"]) <= year
                 and (institution_group == "__any__" or r.get("institution_group") == institution_group)]
        # prefer EES releases over performance tables
        for src in srcs:
            pick = self._pick([r for r in cands if r.get("source") == src])
            if pick:
                return pick
        return None

    def neet(self, measure: str, year: str, geography_level: str = "national", geography_code: str | None = None,
             topic: str = "Total", breakdown: str = "Total") -> Benchmark | None:
        """NCCIS 16-17 figure: the newest period up to the winter after the leaving year."""
        limit = int(year[:4]) + 2
        cands = [r for r in self.rows
                 if r.get("source") == "nccis_neet" and r.get("measure") == measure
                 and r.get("geography_level") == geography_level
                 and (geography_code is None or str(r.get("geography_code")) == str(geography_code)
                      or str(r.get("la_code")) == str(geography_code))
                 and (r.get("breakdown_topic") in (topic, None)) and (r.get("breakdown") in (breakdown, None))
                 and (_year_num(r.get("period")) or 0) <= limit]
        return self._pick(cands)
