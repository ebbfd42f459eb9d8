"""Shared page furniture: context, persistent filters, tables with safe downloads, notices."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboards.lib import data
from dashboards.lib.export import to_csv_bytes, to_xlsx_bytes
from dashboards.lib.session import audit_view, audited_download, require
from dashboards.lib.users import User
from pipelines.lib import serving_contract as contract

TRUST = "__trust__"


@dataclass
class Ctx:
    user: User
    data_dir: Path
    serving: Path
    names: dict[str, str] = field(default_factory=dict)
    published_view: bool = False
    title: str = ""

    def load(self, mart: str) -> data.Scoped:
        """One mart by its manifest name (ContractError if the manifest has no such mart)."""
        out = data.load(self.user, mart, self.serving, published_view=self.published_view)
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
    serving = data.serving_dir(dd)  # resolved once: every read of this load uses one folder
    ctx = Ctx(user=user, data_dir=dd, serving=serving, names=data.academy_names(serving, dd), title=title)
    if user.role == "trust_admin":
        ctx.published_view = bool(st.session_state.get("f_pubview", False))
    st.markdown(TABLET_CSS, unsafe_allow_html=True)
    st.title(title)
    if caption:
        st.caption(caption)
    return ctx


# Labels wrap instead of being cut off with an ellipsis (tablet width).
TABLET_CSS = """<style>
[data-testid="stMetricLabel"] *, [data-testid="stMetricDelta"] * {white-space: normal !important;
  overflow: visible !important; text-overflow: clip !important;}
[data-testid="stMetricLabel"] {height: auto !important; min-height: 1.5rem;}
.stButton button p, .stDownloadButton button p {white-space: normal !important;}
</style>"""


def not_published(what: str, scoped: data.Scoped | None = None) -> None:
    reason = scoped.reason if scoped is not None and scoped.reason else "not published yet"
    st.info(f"{what}: {reason}. It appears here after the pipeline next publishes "
            "(`destinations run`).")
    status_link()


def status_link(text: str = "See which returns have arrived") -> None:
    st.page_link("app_pages/data_quality.py", label=text, icon=":material/fact_check:")


def empty(why: str) -> None:
    """An empty selection, said plainly, with the way to the return status."""
    st.info(why)
    status_link()


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


def latest_actual(frame: pd.DataFrame) -> tuple[str | None, str | None]:
    """The latest leaving year with an actual-destination round, and that round."""
    if "round" not in frame or "leaving_year" not in frame or frame.empty:
        return None, None
    kinds = frame["round_kind"] if "round_kind" in frame else frame["round"].map(round_kind)
    act = frame[kinds == "actual"]
    if act.empty:
        return None, None
    y = latest_year(list(act["leaving_year"].dropna().unique()))
    rs = sort_rounds(act.loc[act["leaving_year"] == y, "round"].unique())
    return y, (rs[-1] if rs else None)


def latest_intended(frame: pd.DataFrame) -> tuple[str | None, str | None]:
    if "round" not in frame or "leaving_year" not in frame or frame.empty:
        return None, None
    y = latest_year(list(frame["leaving_year"].dropna().unique()))
    rs = sort_rounds(frame.loc[frame["leaving_year"] == y, "round"].unique())
    return y, (rs[-1] if rs else None)


def _jump(year: str, rnd: str | None) -> None:
    st.session_state["f_year"] = year
    if rnd:
        st.session_state["f_round"] = rnd
    for k in ("w_f_year", "w_f_round"):
        st.session_state.pop(k, None)


def period_notice(frame: pd.DataFrame, f: dict, *, with_round: bool = True) -> None:
    """Say which period the page shows by default, with the newest intended round one click away."""
    ay, ar = latest_actual(frame)
    iy, ir = latest_intended(frame)
    if ay is None:
        st.info("No actual destinations (the autumn after leaving) have been returned yet: "
                "the figures below are intentions.")
        return
    on_actual = f.get("year") == ay and (not with_round or f.get("round") == ar)
    c1, c2 = st.columns([3, 2])
    if on_actual:
        c1.caption(f"Showing the latest actual destinations: leavers of {ay}, {round_label(ar)}.")
        if (iy, ir) != (ay, ar) and iy:
            c2.button(f"Latest intended round: {iy} {ir}", key="jump_intended", on_click=_jump,
                      args=(iy, ir), icon=":material/arrow_forward:")
    else:
        kind = round_kind(f["round"]) if with_round and f.get("round") else "selected"
        c1.caption(f"Showing {f.get('year')}" + (f", {round_label(f['round'])} ({kind})" if with_round and
                                                f.get("round") else "") + ".")
        c2.button(f"Back to the latest actual round: {ay} {ar}", key="jump_actual", on_click=_jump,
                  args=(ay, ar), icon=":material/undo:")


def standard_filters(ctx: Ctx, frame: pd.DataFrame, *, round_=True, ks=True, academy=True,
                     topic=False) -> dict:
    """Leaving year, round, key stage, academy (and breakdown topic) from the scoped frame.

    Defaults: the latest leaving year with actual destinations, and that actual round."""
    out: dict = {}
    st.sidebar.header("Filters")
    years = sorted(frame["leaving_year"].dropna().astype(str).unique()) if "leaving_year" in frame else []
    ay, ar = latest_actual(frame)
    out["year"] = choose("Leaving year", years, "f_year", ay or latest_year(years), qp="year")
    sub = frame[frame["leaving_year"] == out["year"]] if out["year"] else frame
    if round_ and "round" in frame:
        rs = sort_rounds(sub["round"].unique())
        out["round"] = choose("Round", rs, "f_round", ar if out["year"] == ay and ar in rs else
                              (rs[-1] if rs else None), fmt=round_label, qp="round")
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
    docs_link()
    return out


def docs_link() -> None:
    """The dbt docs (lineage, every column's meaning), served by `make serve` on port 8580."""
    import os
    url = os.environ.get("DESTINATIONS_DOCS_URL", "http://localhost:8580")
    st.sidebar.markdown(f"[What each figure means (warehouse docs)]({url})")


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
    shown = for_display(df, columns, exclude)
    shown.columns = [pretty(c) for c in shown.columns]  # downloads keep the mart's names
    st.dataframe(shown, hide_index=True, width="stretch", height=height or "auto", key=f"df_{key}")
    if shown.isin([contract.SUPPRESSED, contract.NO_PUPILS, contract.NOT_AVAILABLE]).to_numpy().any():
        st.caption(contract.explanation())
    cols_ = list(columns) if columns else None

    def _export() -> pd.DataFrame:  # built only when a download is clicked
        return for_export(df, cols_, exclude)

    c1, c2, _ = st.columns([1, 1, 4])
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "table"
    c1.download_button("Download CSV", audited_download(name, "csv", lambda: to_csv_bytes(_export())),
                       f"{safe}.csv", "text/csv",
                       key=f"csv_{key}", on_click="ignore")
    c2.download_button("Download XLSX", audited_download(name, "xlsx", lambda: to_xlsx_bytes(_export())),
                       f"{safe}.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key=f"xlsx_{key}", on_click="ignore")


@functools.lru_cache(maxsize=1)
def _short_labels() -> dict[str, str]:
    return contract.measure_labels(short=True)


_NAMES = {"upn": "UPN", "urn": "URN", "la": "LA", "pct": "%",
          "neet": "NEET", "sen": "SEN", "fsq": "FSQ", "ks": "KS"}


def pretty(col: str) -> str:
    """positive_pct -> 'EET %' (a measure's one short label, as in the packs), gap_pp -> 'Gap (pp)'
    (display only)."""
    col = str(col)
    if col.endswith("_pct") and col[:-4] in _short_labels():
        return f"{_short_labels()[col[:-4]]} %"
    words = [w for w in col.split("_") if w]
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
    "National and LA figures are published by DfE / NCCIS for their own cohorts and "
    "definitions: DfE destination measures count a destination only if it is sustained for "
    "two terms and are published about two years late, while the trust's R3 figure is the "
    "activity in the autumn after leaving. NCCIS NEET and not known figures are 16-17 year "
    "olds averaged over December to February. Use the comparison as context, not a league table.")


META_COLUMNS = set(contract.SUPPRESSION_COLUMNS) | {"topic_order", "breakdown_order", "round_order",
                                                      "gap_order", "readiness_band_order", "survey_round_order"}


def _measure(df: pd.DataFrame, c: str, exclude) -> bool:
    if c in (exclude or ()) or c in META_COLUMNS or c in ("academy_urn", "leaving_year", "benchmark"):
        return False
    s = df[c]
    if pd.api.types.is_bool_dtype(s):
        return False
    return pd.api.types.is_numeric_dtype(s) or bool(s.isna().all())


def for_display(df: pd.DataFrame, columns=None, exclude=None) -> pd.DataFrame:
    """Cells as text the way both consumers print them: numbers, `c` (withheld, from the
    published row's own flags) or `z` (no figure). Nothing is suppressed here."""
    keep = [c for c in (columns or df.columns) if c in df.columns and c not in META_COLUMNS]
    recs = df.to_dict("records")
    out = {}
    for c in keep:
        if _measure(df, c, exclude):
            out[c] = [contract.show(r, c) for r in recs]
        else:
            out[c] = df[c].to_numpy()
    return pd.DataFrame(out, index=df.index, columns=keep)


def for_export(df: pd.DataFrame, columns=None, exclude=None) -> pd.DataFrame:
    """Downloads: withheld cells carry `c` (the published value is null anyway), the rest raw."""
    keep = [c for c in (columns or df.columns) if c in df.columns and c not in META_COLUMNS]
    recs = df.to_dict("records")
    out = {}
    for c in keep:
        if _measure(df, c, exclude):
            out[c] = [contract.SUPPRESSED if contract.withheld(r, c) else r[c] for r in recs]
        else:
            out[c] = df[c].to_numpy()
    return pd.DataFrame(out, index=df.index, columns=keep)


def cell(one_row: pd.DataFrame, col: str, published: bool = True, suffix: str = "") -> str:
    """One value as displayed (c, z or the number)."""
    if col not in one_row or one_row.empty:
        return "–"
    v = contract.show(one_row.iloc[0].to_dict(), col)
    return v if v in (contract.SUPPRESSED, contract.NO_PUPILS, contract.NOT_AVAILABLE) else v + suffix


def value(one_row: pd.DataFrame, col: str) -> float | None:
    """The number of one published cell, or None when it is c or z (never a stand-in)."""
    if col not in one_row or one_row.empty:
        return None
    r = one_row.iloc[0].to_dict()
    return None if contract.state(r, col) else float(r[col])


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


def label_academies(ctx: Ctx, frame: pd.DataFrame) -> pd.DataFrame:
    col = data.academy_col(frame)
    if col is None or "academy" in frame.columns:
        return frame
    out = frame.copy()
    out.insert(0, "academy", out[col].map(lambda u: ctx.academy_label(u) if pd.notna(u) else "Trust"))
    return out


def chart(fig, key: str) -> None:
    """A plotly chart whose camera button downloads a PNG named after the chart."""
    st.plotly_chart(fig, key=key, config={
        "displaylogo": False, "displayModeBar": True,
        "toImageButtonOptions": {"format": "png", "filename": re.sub(r"[^A-Za-z0-9_-]+", "_", key),
                                 "scale": 2}})


def trust_la_comparator(ctx: Ctx, year: str | None, ks: str | None) -> dict | None:
    """The trust row's LA comparator: pupil-weighted across its academies' LAs (neet_la_comparator)."""
    la = ctx.load("neet_la_comparator")
    if not la.ok or year is None:
        return None
    r = la.frame[(la.frame["leaving_year"] == year) & (la.frame["key_stage"] == ks)]
    return r.iloc[0].to_dict() if len(r) else None


def england_neet(ctx: Ctx, measure: str = "neet_pct", upto: str | None = None) -> pd.DataFrame:
    """England NCCIS 16-17 figures by period (the trend), published benchmark rows only."""
    bm = benchmarks(ctx)
    if bm is None:
        return pd.DataFrame(columns=["period", "value", "publication"])
    e = bm[(bm["source"] == "nccis_neet") & (bm["geography_level"] == "national") & (bm["measure"] == measure)
           & bm["value"].notna() & bm["is_latest"].astype("boolean").fillna(True).astype(bool)]
    e = e.sort_values("period").drop_duplicates("period", keep="last")
    return e[["period", "value", "publication"]].reset_index(drop=True)
