"""How suppressed and small numbers are shown (the marts decide what is suppressed)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
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
    exclude = set(exclude or ()) | set(FLAG_COLUMNS) | {"topic_order", "breakdown_order",
                                                         "round_order", "_pub_row_id"}
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


def _as_set(v) -> frozenset:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return frozenset()
    if isinstance(v, str):
        return frozenset(x.strip() for x in v.strip("[]").replace("'", "").split(",") if x.strip())
    try:
        return frozenset(str(x) for x in v)
    except TypeError:
        return frozenset()


def _masks(df: pd.DataFrame, cols: list[str], published: bool) -> tuple[dict, dict]:
    """(c mask, z mask) per column as numpy arrays.

    The published marts say exactly what is hidden: `suppressed` (whole row) and
    `suppressed_measures` (count columns, and their `_pct`). Without those columns, a
    null in a published frame is taken as suppressed. Per-cell `<col>_suppressed` flags
    are honoured everywhere. `suppression_status` z = no pupils: shares not applicable."""
    n = len(df)
    row_flag = None
    for f in FLAG_COLUMNS:
        if f in df.columns:
            row_flag = np.asarray(df[f].astype("boolean").fillna(False), dtype=bool)
            break
    sets = [_as_set(v) for v in df["suppressed_measures"].tolist()] \
        if "suppressed_measures" in df.columns else None
    z = np.asarray(df["suppression_status"].eq("z").fillna(False), dtype=bool) \
        if "suppression_status" in df.columns else np.zeros(n, dtype=bool)
    cm, zm = {}, {}
    for c in cols:
        isna = np.asarray(df[c].isna(), dtype=bool)
        if sets is not None:
            base = c[:-4] if c.endswith("_pct") else c
            m = np.fromiter((base in st_ or c in st_ for st_ in sets), dtype=bool, count=n)
            if row_flag is not None:
                m |= row_flag
        elif published:
            m = isna.copy()
        elif row_flag is not None:
            m = row_flag & isna
        else:
            m = np.zeros(n, dtype=bool)
        if f"{c}_suppressed" in df.columns:
            m |= np.asarray(df[f"{c}_suppressed"].astype("boolean").fillna(False), dtype=bool)
        cm[c] = m
        zm[c] = z & isna & ~m
    return cm, zm


def suppressed_mask(df: pd.DataFrame, cols: list[str], published: bool) -> pd.DataFrame:
    return pd.DataFrame(_masks(df, cols, published)[0], index=df.index, columns=cols)


def _fmt(v, pct: bool) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return ""
    if pct:
        return f"{float(v):.1f}"
    f = float(v)
    return f"{int(f):,}" if f.is_integer() else f"{f:,.1f}"


def for_display(df: pd.DataFrame, published: bool, exclude: set[str] | None = None,
                only: list[str] | None = None) -> pd.DataFrame:
    """Format numbers (percentages to 1 dp) and put `c` (suppressed) or `z` (no pupils) in cells."""
    cols = [c for c in measure_columns(df, exclude) if only is None or c in only]
    cm, zm = _masks(df, cols, published)
    out = {}
    keep = [c for c in df.columns if not (c.endswith("_suppressed") or c in META_COLUMNS)]
    if only is not None:
        keep = [c for c in only if c in keep]
    for c in keep:
        if c in cm:
            pct = c.endswith(("_pct", "_rate", "_pp")) or c in ("value", "gap", "score")
            vals = np.array([_fmt(v, pct) for v in df[c].tolist()], dtype=object)
            vals[zm[c]] = "z"
            vals[cm[c]] = SUPPRESSED
            out[c] = vals
        else:
            out[c] = df[c].to_numpy()
    return pd.DataFrame(out, index=df.index, columns=keep)


META_COLUMNS = ("suppressed_measures", "_pub_row_id", "topic_order", "breakdown_order", "round_order",
                "counts_in_trust_totals")


def any_suppressed(df: pd.DataFrame, published: bool, exclude: set[str] | None = None) -> bool:
    cols = measure_columns(df, exclude)
    return bool(cols) and any(m.any() for m in _masks(df, cols, published)[0].values())


def for_export(df: pd.DataFrame, published: bool, exclude: set[str] | None = None) -> pd.DataFrame:
    """Downloads: suppressed cells carry `c` (never the hidden number), rest unrounded."""
    cols = measure_columns(df, exclude)
    cm, _ = _masks(df, cols, published)
    keep = [c for c in df.columns if not (c.endswith("_suppressed") or c in META_COLUMNS)]
    out = {}
    for c in keep:
        if c in cm and cm[c].any():
            vals = df[c].to_numpy(dtype=object, na_value=None).copy()
            vals[cm[c]] = SUPPRESSED
            out[c] = vals
        else:
            out[c] = df[c].to_numpy()
    return pd.DataFrame(out, index=df.index, columns=keep)
