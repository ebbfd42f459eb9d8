"""Plotly charts whose titles state the finding."""
from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

PALETTE = ["#1d4e89", "#00a6a6", "#f29e4c", "#7a306c", "#6c8ead", "#c44536", "#9bc53d", "#888888"]
GROUPS = ["education", "apprenticeship", "employment", "training", "neet", "not_known", "other"]
GROUP_LABELS = {"education": "Education", "apprenticeship": "Apprenticeship",
                "employment": "Employment", "training": "Training", "neet": "NEET",
                "not_known": "Not known", "other": "Other (gap year, re-engagement)",
                "undecided": "Undecided"}


def _style(fig: go.Figure, title: str) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
                      margin={"l": 10, "r": 10, "t": 60, "b": 10}, legend_title_text="",
                      colorway=PALETTE, template="plotly_white")
    return fig


def pp(a: float, b: float) -> str:
    d = a - b
    return f"{abs(d):.1f} points {'above' if d > 0 else 'below'}" if abs(d) >= 0.05 else "level with"


def trend(df: pd.DataFrame, x: str, y: str, title: str, *, color: str | None = None,
          y_title: str = "%") -> go.Figure:
    fig = px.line(df, x=x, y=y, color=color, markers=True)
    fig.update_yaxes(title=y_title, rangemode="tozero")
    fig.update_xaxes(title="", type="category")
    return _style(fig, title)


def stacked_groups(df: pd.DataFrame, by: str, title: str, groups: list[str] | None = None) -> go.Figure:
    groups = [g for g in (groups or GROUPS) if f"{g}_pct" in df.columns]
    long = df.melt(id_vars=[by], value_vars=[f"{g}_pct" for g in groups],
                   var_name="group", value_name="pct")
    long["group"] = long["group"].str.removesuffix("_pct").map(GROUP_LABELS)
    fig = px.bar(long, y=by, x="pct", color="group", orientation="h",
                 category_orders={"group": [GROUP_LABELS[g] for g in groups]})
    fig.update_xaxes(title="% of cohort", range=[0, 100])
    fig.update_yaxes(title="", type="category")
    return _style(fig, title)


def bars(df: pd.DataFrame, x: str, y: str, title: str, *, color: str | None = None,
         barmode: str = "group", orientation: str = "v", ref: float | None = None,
         ref_label: str = "") -> go.Figure:
    fig = px.bar(df, x=x, y=y, color=color, barmode=barmode, orientation=orientation)
    if ref is not None:
        if orientation == "h":
            fig.add_vline(x=ref, line_dash="dash", line_color="#444", annotation_text=ref_label)
        else:
            fig.add_hline(y=ref, line_dash="dash", line_color="#444", annotation_text=ref_label)
    return _style(fig, title)


def sankey(flows: pd.DataFrame, source: str, target: str, value: str, title: str) -> go.Figure:
    left = [f"{s} (intended)" for s in flows[source].astype(str)]
    right = [f"{t} (actual)" for t in flows[target].astype(str)]
    labels = list(dict.fromkeys(left + right))
    idx = {l: i for i, l in enumerate(labels)}
    fig = go.Figure(go.Sankey(
        node={"label": labels, "pad": 14, "thickness": 14},
        link={"source": [idx[l] for l in left], "target": [idx[r] for r in right],
              "value": flows[value].astype(float).tolist()}))
    return _style(fig, title)
