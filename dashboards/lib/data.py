"""Read the serving snapshot, scoped to the viewer. The only way pages get data.

Rules (enforced here, not in the menu):
- trust_admin: every mart, unsuppressed, pupil rows included.
- director: aggregate marts only through their `<mart>_published` twin; marts with
  pupil rows never; other marts only if listed in DIRECTOR_SAFE.
- academy: rows of their own URNs (unsuppressed, they own those pupils); trust-level
  rows only from the published twin; no other academy's rows at all.
Reads Parquet only (never the live DuckDB file); cached per file version (mtime, size).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from dashboards.lib.users import User

PUPIL_COLUMNS = ("upn", "pupil_id", "pupil_key", "surname", "forename", "date_of_birth")
ACADEMY_COLUMNS = ("academy_urn", "urn")
# Marts without a published twin that carry no pupil-level or small-number detail.
DIRECTOR_SAFE = {
    "similar_schools", "similar_schools_comparison", "public_destination_statement",  # published cells only
    "benchmark_measures", "data_quality_status", "return_status", "returns_status",
    "compass_benchmark_trends", "compass_trends", "compass_scores", "compass_academy_summary",
    "compass_trust_vs_national", "academies", "dim_academy", "academy_register",
}


class AccessDenied(PermissionError):
    """The viewer's role may not read this mart."""


@dataclass(frozen=True)
class Scoped:
    """A scoped read: the frame and how it was produced (for display)."""
    name: str
    frame: pd.DataFrame | None
    published: bool          # values come from a suppressed (_published) variant
    reason: str = ""         # why frame is None

    @property
    def ok(self) -> bool:
        return self.frame is not None


def serving_dir(data_dir: Path | None = None) -> Path:
    from pipelines.config import paths
    return paths(data_dir).serving


def snapshot_version(serving: Path) -> tuple:
    """Changes whenever any serving file is replaced (publish = atomic rename)."""
    if not serving.is_dir():
        return ()
    out = []
    for p in sorted(serving.glob("*.parquet")):
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        out.append((p.name, st.st_mtime_ns, st.st_size))
    return tuple(out)


def published_at(serving: Path) -> str | None:
    import json
    m = serving / "_manifest.json"
    try:
        return json.loads(m.read_text()).get("published_at")
    except (OSError, ValueError):
        return None


# --- cache: one entry per (path, mtime, size); old versions evicted ---------------
_CACHE: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 64


def _read_parquet(path: Path) -> pd.DataFrame | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    key = (str(path), st.st_mtime_ns, st.st_size)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    try:
        df = pq.read_table(path).to_pandas()
    except (FileNotFoundError, OSError):
        return None
    for c in ACADEMY_COLUMNS:  # URNs compared as 6-digit text everywhere
        if c in df.columns:
            df[c] = _urn_text(df[c])
    with _CACHE_LOCK:
        for k in [k for k in _CACHE if k[0] == key[0]]:
            del _CACHE[k]
        _CACHE[key] = df
        while len(_CACHE) > _CACHE_MAX:
            _CACHE.popitem(last=False)
    return df


def _urn_text(s: pd.Series) -> pd.Series:
    out = s.astype("string").str.strip()
    out = out.str.replace(r"\.0$", "", regex=True)
    return out.where(out.str.len() != 0)


def available(serving: Path) -> set[str]:
    return {p.stem for p in serving.glob("*.parquet")} if serving.is_dir() else set()


def academy_col(df: pd.DataFrame) -> str | None:
    return next((c for c in ACADEMY_COLUMNS if c in df.columns), None)


def is_pupil_level(df: pd.DataFrame) -> bool:
    return any(c in df.columns for c in PUPIL_COLUMNS)


def _trust_rows(df: pd.DataFrame, col: str) -> pd.Series:
    if "level" in df.columns:
        return df["level"].astype("string").str.lower().eq("trust").fillna(False)
    return df[col].isna()


_SCOPED: OrderedDict[tuple, Scoped] = OrderedDict()


def _stat(p: Path) -> tuple:
    try:
        st = p.stat()
        return (st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        return ()


def load(viewer: User, mart: str, serving: Path, *, published_view: bool = False) -> Scoped:
    """The mart as this viewer may see it. `published_view` lets an admin preview what
    directors see; it can only narrow, never widen. Memoised per (role, URNs, file versions):
    callers must not modify the frame in place."""
    if mart.endswith("_published"):
        mart = mart[: -len("_published")]
    key = (viewer.role, tuple(sorted(viewer.urns)), mart, published_view, str(serving),
           _stat(serving / f"{mart}.parquet"), _stat(serving / f"{mart}_published.parquet"))
    with _CACHE_LOCK:
        hit = _SCOPED.get(key)
        if hit is not None:
            _SCOPED.move_to_end(key)
            return hit
    out = _load(viewer, mart, serving, published_view=published_view)
    with _CACHE_LOCK:
        _SCOPED[key] = out
        while len(_SCOPED) > _CACHE_MAX:
            _SCOPED.popitem(last=False)
    return out


def _load(viewer: User, mart: str, serving: Path, *, published_view: bool = False) -> Scoped:
    if mart.endswith("_published"):
        mart = mart[: -len("_published")]
    names = available(serving)
    pub_name = f"{mart}_published"
    role = viewer.role

    if role == "director" or (role == "trust_admin" and published_view):
        if pub_name in names:
            df = _read_parquet(serving / f"{pub_name}.parquet")
            if df is None:
                return Scoped(mart, None, True, "not published yet")
            if is_pupil_level(df):
                return Scoped(mart, None, True, "pupil-level data is not shown to directors")
            return Scoped(mart, df, True)
        if mart not in names:
            return Scoped(mart, None, True, "not published yet")
        if mart not in DIRECTOR_SAFE:
            return Scoped(mart, None, True, "the suppressed (published) version is not published yet")
        df = _read_parquet(serving / f"{mart}.parquet")
        if df is None or is_pupil_level(df):
            return Scoped(mart, None, True, "not available to directors")
        return Scoped(mart, df, False)

    if role == "trust_admin":
        if mart not in names:
            return Scoped(mart, None, False, "not published yet")
        df = _read_parquet(serving / f"{mart}.parquet")
        return Scoped(mart, df, False, "" if df is not None else "not published yet")

    if role == "academy":
        urns = set(viewer.urns)
        if not urns:
            return Scoped(mart, None, False, "no academy is linked to this account")
        df = _read_parquet(serving / f"{mart}.parquet") if mart in names else None
        if df is None:
            return Scoped(mart, None, False, "not published yet")
        col = academy_col(df)
        if col is None:
            if is_pupil_level(df):
                return Scoped(mart, None, False, "this list has no academy column, so it is not shown")
            if mart in DIRECTOR_SAFE or mart == "benchmark_measures":
                return Scoped(mart, df, False)  # public / reference data
            if pub_name in names:  # trust-wide aggregate: published variant only
                pdf = _read_parquet(serving / f"{pub_name}.parquet")
                return Scoped(mart, pdf, True, "" if pdf is not None else "not published yet")
            return Scoped(mart, None, False, "trust-wide figures are not published yet")
        own = df[df[col].isin(urns)]
        parts = [own]
        if pub_name in names and not is_pupil_level(df):
            pdf = _read_parquet(serving / f"{pub_name}.parquet")
            if pdf is not None and academy_col(pdf):
                pcol = academy_col(pdf)
                parts.append(pdf[_trust_rows(pdf, pcol)])
        out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else own.reset_index(drop=True)
        return Scoped(mart, out, False)

    raise AccessDenied(f"unknown role {role!r}")


def first_available(viewer: User, candidates: list[str], serving: Path, **kw) -> Scoped:
    """Load the first mart name in `candidates` that exists (names still settling)."""
    names = available(serving)
    for c in candidates:
        if c in names or f"{c}_published" in names:
            return load(viewer, c, serving, **kw)
    return Scoped(candidates[0], None, False, "not published yet")


def register(serving: Path, data_dir: Path | None = None) -> pd.DataFrame:
    """The academy register (urn, name, la_code): not pupil data, so every role may read it."""
    from pipelines.config import paths
    try:
        df = pd.read_csv(paths(data_dir).academies_csv, dtype=str)
        df.columns = [c.strip().lower() for c in df.columns]
        df["urn"] = df["urn"].str.strip()
        return df
    except (OSError, ValueError):
        pass
    dm = _read_parquet(serving / "destination_measures.parquet")
    if dm is not None and "academy_name" in dm:
        d = dm[["academy_urn", "academy_name"]].dropna().drop_duplicates()
        return d.rename(columns={"academy_urn": "urn", "academy_name": "name"})
    return pd.DataFrame(columns=["urn", "name", "la_code"])


def academy_names(serving: Path, data_dir: Path | None = None) -> dict[str, str]:
    reg = register(serving, data_dir)
    if "name" not in reg:
        return {}
    return dict(zip(reg["urn"].astype(str), reg["name"].astype(str)))
