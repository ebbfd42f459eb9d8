"""Read the serving snapshot, scoped to the viewer. The only way pages get data.

Who may read what is declared once, in each mart's dbt YAML (`config: {meta: {audience}}`),
and read from the manifest through pipelines.lib.serving_contract:
- trust_admin: every mart as built (unsuppressed, pupil rows included);
- director: a mart whose audience has `director` (for aggregates: the `_published` twin);
- academy: own academies' rows from a mart with `academy_own`, and everything else (trust
  rows, comparators) from the twin whose audience has `academy`; no other academy's rows.
Mart and column names come from the contract: a name the manifest lacks raises
ContractError (loud), a mart not in the snapshot yet is "not published yet".
Reads Parquet only (never the live DuckDB file); cached per file version (mtime, size).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dashboards.lib.users import User
from pipelines.lib import serving_contract as contract
from pipelines.lib.serving_contract import ContractError  # noqa: F401  (re-exported for pages)

ACADEMY_COLUMNS = ("academy_urn",)


class AccessDenied(PermissionError):
    """The viewer's role may not read this mart."""


@dataclass(frozen=True)
class Scoped:
    """A scoped read: the frame and how it was produced (for display)."""
    name: str
    frame: pd.DataFrame | None
    published: bool          # some values come from a suppressed (_published) twin
    reason: str = ""         # why frame is None

    @property
    def ok(self) -> bool:
        return self.frame is not None


def serving_dir(data_dir: Path | None = None) -> Path:
    """The serving folder, resolved once (it may be a symlink the publisher swaps)."""
    from pipelines.config import paths
    return paths(data_dir).serving.resolve()


def published_at(serving: Path) -> str | None:
    import json
    try:
        return json.loads((serving / "_manifest.json").read_text()).get("published_at")
    except (OSError, ValueError):
        return None


# --- cache: one entry per (path, mtime, size); old versions evicted ---------------
_CACHE: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 64


def _stat(p: Path) -> tuple:
    try:
        st = p.stat()
        return (st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        return ()


def _read(serving: Path, name: str) -> pd.DataFrame | None:
    path = serving / f"{name}.parquet"
    key = (str(path),) + _stat(path)
    if len(key) == 1:
        return None
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    table = contract.Snapshot(serving).read(name)
    if table is None:
        return None
    df = table.to_pandas()
    if "academy_urn" in df.columns:  # URNs compared as 6-digit text everywhere
        s = df["academy_urn"].astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
        df["academy_urn"] = s.where(s.str.len() != 0)
    with _CACHE_LOCK:
        for k in [k for k in _CACHE if k[0] == key[0]]:
            del _CACHE[k]
        _CACHE[key] = df
        while len(_CACHE) > _CACHE_MAX:
            _CACHE.popitem(last=False)
    return df


def academy_col(df: pd.DataFrame) -> str | None:
    return "academy_urn" if "academy_urn" in df.columns else None


def _not_own_academy_rows(df: pd.DataFrame) -> pd.Series:
    """Rows that belong to no single academy: trust rows and comparators."""
    if "level" in df.columns:
        return df["level"].astype("string").ne("academy").fillna(True)
    if "academy_urn" in df.columns:
        return df["academy_urn"].isna()
    return pd.Series(True, index=df.index)


_SCOPED: OrderedDict[tuple, Scoped] = OrderedDict()


def load(viewer: User, mart: str, serving: Path, *, published_view: bool = False) -> Scoped:
    """The mart as this viewer may see it. `published_view` lets an admin preview what
    directors see; it can only narrow, never widen. Memoised per (role, URNs, file versions):
    callers must not modify the frame in place."""
    if mart.endswith(contract.PUBLISHED_SUFFIX):
        mart = mart[: -len(contract.PUBLISHED_SUFFIX)]
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
    role = viewer.role
    if role not in contract.ROLES:
        raise AccessDenied(f"unknown role {role!r}")
    if role == "trust_admin" and published_view:
        role = "director"
    src = contract.source_for(mart, role)
    if not src.ok:
        who = {"director": "directors and trustees", "academy": "academy users"}.get(role, role)
        return Scoped(mart, None, True, f"not available to {who}")

    if role == "academy":
        urns = set(viewer.urns)
        if not urns:
            return Scoped(mart, None, False, "no academy is linked to this account")
        parts, published = [], False
        if src.own:
            df = _read(serving, src.own)
            if df is not None:
                col = academy_col(df)
                if col is None:  # an academy_own mart without academy_urn: nothing is "own"
                    raise ContractError(f"{src.own}: audience academy_own needs an academy_urn column")
                parts.append(df[df[col].isin(urns)])
        if src.whole:
            df = _read(serving, src.whole)
            if df is not None:
                if src.own or src.whole.endswith(contract.PUBLISHED_SUFFIX):
                    df = df[_not_own_academy_rows(df)]  # other academies' rows never
                parts.append(df)
                published = src.whole.endswith(contract.PUBLISHED_SUFFIX)
        if not parts:
            return Scoped(mart, None, False, "not published yet")
        out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        return Scoped(mart, out, published)

    df = _read(serving, src.whole)
    if df is None:
        return Scoped(mart, None, role == "director", "not published yet")
    if role == "director" and contract.PUPIL_COLUMNS & set(df.columns):
        return Scoped(mart, None, True, "pupil-level data is not shown to directors")
    return Scoped(mart, df, src.whole.endswith(contract.PUBLISHED_SUFFIX))


def is_pupil_level(df: pd.DataFrame) -> bool:
    """The frame names pupils (UPN, name, ...): views of it go into the audit trail."""
    return bool(contract.PUPIL_COLUMNS & set(df.columns))


def register(serving: Path, data_dir: Path | None = None) -> pd.DataFrame:
    """The academy register (urn, name, la_code, joined): not pupil data, every role may read it."""
    from pipelines.config import paths
    try:
        df = pd.read_csv(paths(data_dir).academies_csv, dtype=str)
        df.columns = [c.strip().lower() for c in df.columns]
        df["urn"] = df["urn"].str.strip()
        return df
    except (OSError, ValueError, KeyError):
        return pd.DataFrame(columns=["urn", "name", "la_code"])


def academy_names(serving: Path, data_dir: Path | None = None) -> dict[str, str]:
    reg = register(serving, data_dir)
    if "name" not in reg:
        return {}
    return dict(zip(reg["urn"].astype(str), reg["name"].astype(str)))
