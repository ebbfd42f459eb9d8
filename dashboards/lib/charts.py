"""Plotly charts whose titles state the finding."""
from __future__ import annotations

import re

import pandas as pd
import plotly.graph_objects as go

from pipelines.lib import serving_contract as contract

PALETTE = ["#1d4e89", "#00a6a6", "#f29e4c", "#7a306c", "#6c8ead", "#c44536", "#9bc53d", "#888888"]
GROUPS = ["education", "apprenticeship", "employment", "training", "neet", "not_known", "other"]
GROUP_LABELS = contract.measure_labels(short=True)   # one label per measure (dbt seed `measures`)


def wrap(title: str, width: int = 62) -> str:
    """Break a long finding-title into lines (plotly does not wrap), keeping <br> already there."""
    import textwrap
    return "<br>".join("<br>".join(textwrap.wrap(part, width)) if not part.startswith("<sup>") else part
                       for part in title.split("<br>"))


def _style(fig: go.Figure, title: str) -> go.Figure:
    text = wrap(title)
    lines = text.count("<br>") + 1
    # legend under the plot: the plot keeps its width on a tablet
    fig.update_layout(title={"text": text, "x": 0, "xanchor": "left", "font": {"size": 15}},
                      margin={"l": 10, "r": 10, "t": 30 + 22 * lines, "b": 10}, legend_title_text="",
                      legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
                      colorway=PALETTE, template="plotly_white")
    return fig


def pp(a: float, b: float) -> str:
    d = a - b
    return f"{abs(d):.1f} points {'above' if d > 0 else 'below'}" if abs(d) >= 0.05 else "level with"


def _series(df: pd.DataFrame, color: str | None):
    if color is None:
        yield None, df
    else:
        for k, g in df.groupby(color, sort=False):
            yield str(k), g


def trend(df: pd.DataFrame, x: str, y: str, title: str, *, color: str | None = None,
          y_title: str = "%") -> go.Figure:
    # graph_objects directly: plotly express costs ~0.5 s a chart in validation
    fig = go.Figure([go.Scatter(x=g[x].astype(str).tolist(), y=g[y].tolist(), mode="lines+markers",
                                name=name or y) for name, g in _series(df, color)])
    fig.update_yaxes(title=y_title, rangemode="tozero")
    # one category order for every series (a series with gaps must not reorder the years)
    cats = list(dict.fromkeys(df[x].astype(str)))
    if all(re.match(r"^\d{4}", c) for c in cats):
        cats = sorted(cats)
    fig.update_xaxes(title="", type="category", categoryorder="array", categoryarray=cats)
    return _style(fig, title)


def stacked_groups(df: pd.DataFrame, by: str, title: str, groups: list[str] | None = None) -> go.Figure:
    groups = [g for g in (groups or GROUPS) if f"{g}_pct" in df.columns]
    cats = df[by].astype(str).tolist()
    fig = go.Figure([go.Bar(y=cats, x=df[f"{g}_pct"].tolist(), name=GROUP_LABELS[g], orientation="h")
                     for g in groups])
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title="", ticksuffix="%", range=[0, 100])  # no axis title: the legend sits there on a tablet
    fig.update_yaxes(title="", type="category", autorange="reversed")
    return _style(fig, title)


def bars(df: pd.DataFrame, x: str, y: str, title: str, *, color: str | None = None,
         barmode: str = "group", orientation: str = "v", ref: float | None = None,
         ref_label: str = "") -> go.Figure:
    fig = go.Figure()
    for name, g in _series(df, color):
        xs, ys = g[x].tolist(), g[y].tolist()
        if orientation == "h":
            ys = [str(v) for v in ys]
        else:
            xs = [str(v) for v in xs]
        fig.add_trace(go.Bar(x=xs, y=ys, name=name or "", orientation=orientation,
                             showlegend=name is not None))
    fig.update_layout(barmode=barmode)
    if orientation == "h":
        fig.update_yaxes(type="category", title="")
        # with a legend under the plot there is no room for an axis title on a tablet
        fig.update_xaxes(title="" if color else _axis(x))
    else:
        fig.update_xaxes(type="category", title="")
        fig.update_yaxes(title=_axis(y))
    vals = pd.to_numeric(df[x if orientation == "h" else y], errors="coerce").dropna()
    if len(vals) and (vals == vals.round()).all() and vals.max() <= 10:   # a few things: whole ticks
        (fig.update_xaxes if orientation == "h" else fig.update_yaxes)(dtick=1, tickformat="d")
    if ref is not None:
        ref_line(fig, ref, ref_label, vertical=orientation == "h")
    return _style(fig, title)


def ref_line(fig: go.Figure, value: float, label: str, *, vertical: bool, color: str = "#444",
             dash: str = "dash") -> None:
    """A reference line (target, England) without add_vline's slow validation path."""
    if vertical:
        shape = dict(type="line", xref="x", yref="paper", x0=value, x1=value, y0=0, y1=1)
        ann = dict(xref="x", yref="paper", x=value, y=1.0, yanchor="bottom", text=label, showarrow=False)
    else:
        shape = dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=value, y1=value)
        ann = dict(xref="paper", yref="y", x=1.0, y=value, xanchor="right", yanchor="bottom",
                   text=label, showarrow=False)
    shape["line"] = dict(color=color, dash=dash, width=1.5)
    fig.update_layout(shapes=list(fig.layout.shapes) + [shape],
                      annotations=list(fig.layout.annotations) + ([ann] if label else []))


def _axis(col: str) -> str:
    if col == "pct" or col.endswith("_pct"):
        return "%"
    if col == "pp" or col.endswith("_pp"):
        return "percentage points"
    return col.replace("_", " ")


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
