"""Read the serving snapshot (Parquet only), preferring each mart's `_published` twin."""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pyarrow.parquet as pq

SUPPRESSED = "c"
FLAG_COLUMNS = ("suppressed", "is_suppressed", "row_suppressed")
# Columns that must never reach the pack (pupil identifiers and names).
PUPIL_COLUMNS = {"upn", "pupil_id", "pupil_key", "surname", "forename", "first_name",
                 "last_name", "legal_name", "preferred_name", "date_of_birth", "dob"}


@dataclass(frozen=True)
class Mart:
    name: str            # the mart as read (e.g. destination_measures_published)
    base: str            # without _published
    published: bool
    rows: list[dict]


@lru_cache(maxsize=1)
def thresholds() -> tuple[int, int]:
    """(min_cohort, min_count) from the dbt vars (td:suppression:*), defaults 6 and 3."""
    try:
        import yaml

        from pipelines.config import DBT_PROJECT_DIR
        v = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
        return int(v.get("td:suppression:min_cohort", 6)), int(v.get("td:suppression:min_count", 3))
    except Exception:  # noqa: BLE001 - fall back to the documented trust rule
        return 6, 3


def _clean(v):
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def read_rows(path: Path) -> list[dict]:
    rows = pq.ParquetFile(path).read().to_pylist()  # no pyarrow.dataset (imports pandas)
    out = []
    for r in rows:
        out.append({k: _clean(v) for k, v in r.items() if k.lower() not in PUPIL_COLUMNS})
    return out


def available(serving_dir: Path) -> set[str]:
    if not serving_dir.is_dir():
        return set()
    return {p.stem for p in serving_dir.glob("*.parquet") if not p.name.startswith(".")}


def read_mart(serving_dir: Path, *candidates: str, allow_unpublished: bool = False) -> Mart | None:
    """The first candidate mart present, as its `_published` twin when one exists.

    Without a twin, the unpublished mart is returned only when allow_unpublished is set
    (the caller then applies suppression itself, or the mart holds no pupil counts).
    """
    have = available(serving_dir)
    for base in candidates:
        if f"{base}_published" in have:
            return Mart(f"{base}_published", base, True, read_rows(serving_dir / f"{base}_published.parquet"))
    if allow_unpublished:
        for base in candidates:
            if base in have:
                return Mart(base, base, False, read_rows(serving_dir / f"{base}.parquet"))
    return None


def is_suppressed_value(row: dict, col: str, published: bool) -> bool:
    """A cell is withheld when the published mart nulls it, marks it `c`, or flags it."""
    v = row.get(col)
    if isinstance(v, str) and v.strip().lower() == SUPPRESSED:
        return True
    if row.get(f"{col}_suppressed"):
        return True
    if v is None and (published or any(row.get(f) for f in FLAG_COLUMNS)):
        return True
    return False


def number(v) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).strip().rstrip("%"))
    except ValueError:
        return None
