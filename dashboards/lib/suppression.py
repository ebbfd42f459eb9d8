"""How suppressed and small numbers are shown (the marts decide what is suppressed)."""
from __future__ import annotations

from functools import lru_cache

import pandas as pd

SUPPRESSED = "c"
FLAG_COLUMNS = ("suppressed", "is_suppressed", "row_suppressed")


@lru_cache(maxsize=1)
def thresholds() -> tuple[int, int]:
    """(min_cohort, min_count) from dbt_project.yml vars, defaults 6 and 3."""
    try:
        import yaml

        from pipelines.config import DBT_PROJECT_DIR
        v = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
        return int(v.get("td:suppression:min_cohort", 6)), int(v.get("td:suppression:min_count", 3))
    except Exception:  # noqa: BLE001 - display text only
        return 6, 3


def explanation() -> str:
    cohort, count = thresholds()
    return (f"**c** = suppressed to protect pupils' identities: a group of fewer than {cohort} "
            f"pupils, or a count of 1 to {count - 1} (or all but 1 to {count - 1}), is not shown, "
            "and some other cells are hidden so the hidden ones cannot be worked out from totals "
            "(trust rule following DfE practice).")


def measure_columns(df: pd.DataFrame, exclude: set[str] | None = None) -> list[str]:
    exclude = set(exclude or ()) | set(FLAG_COLUMNS)
    def numeric(c: str) -> bool:
        s = df[c]
        if pd.api.types.is_bool_dtype(s):
            return False
        if pd.api.types.is_numeric_dtype(s):
            return True
        # an all-null column (every value suppressed) is still a measure
        return bool(s.isna().all()) and (c.endswith(("_pct", "_pp")) or c in ("cohort", "value"))
    return [c for c in df.columns
            if c not in exclude and numeric(c)
            and c not in ("academy_urn", "urn", "leaving_year", "year")]


def suppressed_mask(df: pd.DataFrame, cols: list[str], published: bool) -> pd.DataFrame:
    """True where a cell must show `c`: a null value in a published frame, a
    row-level suppressed flag, or a per-cell `<col>_suppressed` flag."""
    mask = pd.DataFrame(False, index=df.index, columns=cols)
    if not published:
        # unsuppressed frames still honour explicit flags (e.g. benchmark rows)
        pass
    row_flag = None
    for f in FLAG_COLUMNS:
        if f in df.columns:
            row_flag = df[f].fillna(False).astype(bool)
            break
    for c in cols:
        m = pd.Series(False, index=df.index)
        if published:
            m |= df[c].isna()
        if row_flag is not None:
            m |= row_flag & df[c].isna()
        if f"{c}_suppressed" in df.columns:
            m |= df[f"{c}_suppressed"].fillna(False).astype(bool)
        mask[c] = m
    return mask


def _fmt(v, pct: bool) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
        return ""
    if pct:
        return f"{float(v):.1f}"
    f = float(v)
    return f"{int(f):,}" if f.is_integer() else f"{f:,.1f}"


def for_display(df: pd.DataFrame, published: bool, exclude: set[str] | None = None) -> pd.DataFrame:
    """Format numbers (percentages to 1 dp) and put `c` in suppressed cells."""
    cols = measure_columns(df, exclude)
    mask = suppressed_mask(df, cols, published)
    out = df.drop(columns=[c for c in df.columns if c.endswith("_suppressed")], errors="ignore").copy()
    for c in cols:
        pct = c.endswith("_pct") or c.endswith("_rate") or c in ("value", "gap", "score")
        vals = df[c].map(lambda v, p=pct: _fmt(v, p))
        out[c] = vals.where(~mask[c], SUPPRESSED)
    return out


def any_suppressed(df: pd.DataFrame, published: bool, exclude: set[str] | None = None) -> bool:
    cols = measure_columns(df, exclude)
    return bool(cols) and bool(suppressed_mask(df, cols, published).to_numpy().any())


def for_export(df: pd.DataFrame, published: bool, exclude: set[str] | None = None) -> pd.DataFrame:
    """Downloads: suppressed cells carry `c` (never the hidden number), rest unrounded."""
    cols = measure_columns(df, exclude)
    mask = suppressed_mask(df, cols, published)
    out = df.drop(columns=[c for c in df.columns if c.endswith("_suppressed")], errors="ignore").copy()
    for c in cols:
        if mask[c].any():
            out[c] = out[c].astype(object).where(~mask[c], SUPPRESSED)
    return out
