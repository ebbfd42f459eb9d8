"""Shared page furniture: context, persistent filters, tables with safe downloads, notices."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboards.lib import data, suppression
from dashboards.lib.export import to_csv_bytes, to_xlsx_bytes
from dashboards.lib.session import audit_view, audited_download, require
from dashboards.lib.users import User

TRUST = "__trust__"


@dataclass
class Ctx:
    user: User
    data_dir: Path
    serving: Path
    names: dict[str, str] = field(default_factory=dict)
    published_view: bool = False
    title: str = ""

    def load(self, *candidates: str) -> data.Scoped:
        out = data.first_available(self.user, list(candidates), self.serving,
                                   published_view=self.published_view)
        if out.ok and data.is_pupil_level(out.frame):  # audit trail: who saw which pupils
            audit_view(self.user, self.title, out.name, len(out.frame))
        return out

    @property
    def sees_pupils(self) -> bool:
        return self.user.role in ("trust_admin", "academy")

    def academy_label(self, urn: str | None) -> str:
        if urn in (None, TRUST):
            return "Trust (all academies)"
        return f"{self.names.get(urn, 'Academy')} ({urn})"


def page(title: str, *roles: str, caption: str | None = None) -> Ctx:
    """Check the role (each page itself), then draw the title."""
    user = require(*roles)
    from pipelines.config import data_dir
    dd = data_dir()
    serving = data.serving_dir(dd)
    ctx = Ctx(user=user, data_dir=dd, serving=serving, names=data.academy_names(serving, dd), title=title)
    if user.role == "trust_admin":
        ctx.published_view = bool(st.session_state.get("f_pubview", False))
    st.title(title)
    if caption:
        st.caption(caption)
    return ctx


def not_published(what: str, scoped: data.Scoped | None = None) -> None:
    reason = scoped.reason if scoped is not None and scoped.reason else "not published yet"
    st.info(f"{what}: {reason}. It appears here after the pipeline next publishes "
            "(`destinations run`).")


# --- filters that persist across pages ---------------------------------------------

def _round_order() -> list[str]:
    try:
        from pipelines.config import round_ids
        return round_ids()
    except Exception:  # noqa: BLE001
        return ["R1", "R2", "R3"]


def round_label(r: str) -> str:
    try:
        from pipelines.config import rounds
        for x in rounds():
            if x.id == r:
                return f"{r}: {x.label}"
    except Exception:  # noqa: BLE001
        pass
    return r


def round_kind(r: str) -> str:
    try:
        from pipelines.config import rounds
        for x in rounds():
            if x.id == r:
                return x.kind
    except Exception:  # noqa: BLE001
        pass
    return "actual" if r == "R3" else "intended"


def sort_rounds(values) -> list[str]:
    order = _round_order()
    return sorted({str(v) for v in values if pd.notna(v)},
                  key=lambda r: (order.index(r) if r in order else len(order), r))


def choose(label: str, options: list, key: str, default=None, *, fmt=None, where=None,
           qp: str | None = None):
    """A selectbox whose value lives in st.session_state[key] across pages.

    A query parameter `qp` may pick the first value in a session, but only among
    `options` (which come from the viewer's scoped data): it can never widen scope."""
    if not options:
        return None
    where = where or st.sidebar
    cur = st.session_state.get(key)
    if cur is None and qp:
        q = st.query_params.get(qp)
        if q in options:
            cur = q
    if cur not in options:
        cur = default if default in options else options[0]
    wkey = f"w_{key}"
    if wkey in st.session_state and st.session_state[wkey] not in options:
        del st.session_state[wkey]
    val = where.selectbox(label, options, index=options.index(cur), key=wkey,
                          format_func=fmt or str)
    if val not in options:  # defence in depth
        val = cur
    st.session_state[key] = val
    return val


def latest_year(years: list[str]) -> str | None:
    ys = sorted({y for y in years if isinstance(y, str) and re.fullmatch(r"\d{4}-\d{2}", y)})
    return ys[-1] if ys else None


def standard_filters(ctx: Ctx, frame: pd.DataFrame, *, round_=True, ks=True, academy=True,
                     topic=False) -> dict:
    """Leaving year, round, key stage, academy (and breakdown topic) from the scoped frame."""
    out: dict = {}
    st.sidebar.header("Filters")
    years = sorted(frame["leaving_year"].dropna().astype(str).unique()) if "leaving_year" in frame else []
    out["year"] = choose("Leaving year", years, "f_year", latest_year(years), qp="year")
    sub = frame[frame["leaving_year"] == out["year"]] if out["year"] else frame
    if round_ and "round" in frame:
        rs = sort_rounds(sub["round"].unique())
        out["round"] = choose("Round", rs, "f_round", rs[-1] if rs else None, fmt=round_label,
                              qp="round")
    if ks and "key_stage" in frame:
        kss = sorted(frame["key_stage"].dropna().astype(str).unique())
        out["ks"] = choose("Key stage", kss, "f_ks", "KS4" if "KS4" in kss else None,
                           fmt=lambda k: {"KS4": "KS4 (after Year 11)",
                                          "16-18": "16-18 (after Year 13)"}.get(k, k), qp="ks")
    if academy:
        out["academy"] = choose("Academy", academy_options(ctx, frame), "f_academy",
                                TRUST if ctx.user.role != "academy" else None,
                                fmt=ctx.academy_label, qp="academy")
    if topic and "breakdown_topic" in frame:
        topics = list(dict.fromkeys(["Total"] + sorted(frame["breakdown_topic"].dropna().unique())))
        out["topic"] = choose("Break down by", topics, "f_topic", "Total", qp="topic")
    if ctx.user.role == "trust_admin":
        st.sidebar.toggle("Show as directors see it (published, suppressed)", key="w_pubview",
                          value=bool(st.session_state.get("f_pubview", False)),
                          on_change=_copy_pubview)
    return out


def _copy_pubview() -> None:
    st.session_state["f_pubview"] = bool(st.session_state.get("w_pubview"))


def academy_options(ctx: Ctx, frame: pd.DataFrame) -> list[str]:
    """Trust plus the academies in the (already scoped) frame; academy users: own URNs only."""
    col = data.academy_col(frame)
    urns = sorted(frame[col].dropna().astype(str).unique()) if col else []
    if ctx.user.role == "academy":
        urns = [u for u in urns if u in ctx.user.urns]
        has_trust = "level" in frame and frame["level"].eq("trust").any()
        return urns + ([TRUST] if has_trust else [])
    return [TRUST] + urns


def select_academy(frame: pd.DataFrame, academy: str | None) -> pd.DataFrame:
    """Rows for the trust or one academy (frame already scoped)."""
    col = data.academy_col(frame)
    if col is None:
        return frame
    if academy in (None, TRUST):
        if "level" in frame:
            return frame[frame["level"] == "trust"]
        return frame[frame[col].isna()]
    return frame[frame[col] == academy]


# --- tables -------------------------------------------------------------------------

def table(df: pd.DataFrame, published: bool, name: str, *, key: str,
          exclude: set[str] | None = None, height: int | None = None,
          columns: list[str] | None = None) -> None:
    """Show a table with `c` for suppressed cells, plus CSV and XLSX downloads.

    Pass the whole frame and pick `columns`, so the suppression metadata is still seen."""
    if df is None or df.empty:
        st.caption("No rows for this selection.")
        return
    shown = suppression.for_display(df, published, exclude, only=list(columns) if columns else None)
    shown.columns = [pretty(c) for c in shown.columns]  # downloads keep the mart's names
    st.dataframe(shown, hide_index=True, width="stretch", height=height or "auto", key=f"df_{key}")
    if shown.isin([suppression.SUPPRESSED]).to_numpy().any():
        st.caption(suppression.explanation())
    cols_ = list(columns) if columns else None

    def _export() -> pd.DataFrame:  # built only when a download is clicked
        e = suppression.for_export(df, published, exclude)
        return e[[c for c in cols_ if c in e.columns]] if cols_ else e

    c1, c2, _ = st.columns([1, 1, 4])
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "table"
    c1.download_button("Download CSV", audited_download(name, "csv", lambda: to_csv_bytes(_export())),
                       f"{safe}.csv", "text/csv",
                       key=f"csv_{key}", on_click="ignore")
    c2.download_button("Download XLSX", audited_download(name, "xlsx", lambda: to_xlsx_bytes(_export())),
                       f"{safe}.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key=f"xlsx_{key}", on_click="ignore")


_NAMES = {"upn": "UPN", "urn": "URN", "la": "LA", "pct": "%",
          "neet": "NEET", "sen": "SEN", "fsq": "FSQ", "ks": "KS"}


def pretty(col: str) -> str:
    """positive_pct -> 'Positive %', gap_pp -> 'Gap (pp)' (display only)."""
    words = [w for w in str(col).split("_") if w]
    if not words:
        return str(col)
    if words[-1] == "pp":
        words[-1] = "(pp)"
    out = [_NAMES.get(w, w) for w in words]
    text = " ".join(out)
    return text[0].upper() + text[1:]


def caveat(text: str) -> None:
    st.caption(f"Caveat: {text}")


BENCHMARK_CAVEAT = (
    "national and LA figures are published by DfE / NCCIS for their own cohorts and "
    "definitions: DfE destination measures count a destination only if it is sustained for "
    "two terms and are published about two years late, while the trust's R3 figure is the "
    "activity in the autumn after leaving. NCCIS NEET and not known figures are 16-17 year "
    "olds averaged over December to February. Use the comparison as context, not a league table.")


def cell(one_row: pd.DataFrame, col: str, published: bool, suffix: str = "") -> str:
    """One value as displayed (c, z or the number)."""
    if col not in one_row or one_row.empty:
        return "–"
    v = suppression.for_display(one_row, published, only=[col])[col].iloc[0]
    return v + suffix if v not in ("c", "z", "") else (v or "–")


def pct_text(v, published: bool) -> str:
    if v is None or pd.isna(v):
        return suppression.SUPPRESSED if published else "–"
    return f"{float(v):.1f}%"


def total_rows(frame: pd.DataFrame) -> pd.DataFrame:
    if "breakdown_topic" in frame:
        return frame[(frame["breakdown_topic"] == "Total") & (frame["breakdown"] == "Total")]
    return frame


def benchmarks(ctx: Ctx) -> pd.DataFrame | None:
    """Published national/LA figures (public data, no pupil detail)."""
    return ctx.load("benchmark_measures").frame


def apply(frame: pd.DataFrame, f: dict, *, academy: bool = True, round_: bool = True) -> pd.DataFrame:
    """Filter any mart by the chosen year / round / key stage / academy where it has them."""
    out = frame
    if f.get("year") and "leaving_year" in out:
        out = out[out["leaving_year"] == f["year"]]
    if round_ and f.get("round") and "round" in out:
        out = out[out["round"] == f["round"]]
    if f.get("ks") and "key_stage" in out:
        out = out[out["key_stage"].isna() | (out["key_stage"] == f["ks"])]
    if academy:
        out = select_academy(out, f.get("academy"))
    return out


def find_col(frame: pd.DataFrame, *needles: str, numeric: bool | None = None) -> str | None:
    """First column whose name contains all `needles` (marts' names still settling)."""
    for c in frame.columns:
        if all(n in c for n in needles):
            if numeric is None or pd.api.types.is_numeric_dtype(frame[c]) == numeric:
                return c
    return None


def label_academies(ctx: Ctx, frame: pd.DataFrame) -> pd.DataFrame:
    col = data.academy_col(frame)
    if col is None or "academy" in frame.columns:
        return frame
    out = frame.copy()
    out.insert(0, "academy", out[col].map(lambda u: ctx.academy_label(u) if pd.notna(u) else "Trust"))
    return out
