"""Stereotype-countering goals: progress against target and comparator, by academy."""
import pandas as pd
import streamlit as st

from dashboards.lib import charts, ui

ctx = ui.page("Stereotype goals", "trust_admin", "director", "academy",
              caption="Goals set by the trust (config) for routes where one group is under-"
                      "represented, e.g. girls into engineering, construction and digital.")
gp = ctx.load("goal_progress", "stereotype_goal_progress")
if not gp.ok:
    ui.not_published("Stereotype goal progress", gp)
    st.stop()
fr = gp.frame
f = ui.standard_filters(ctx, fr, round_="round" in fr, ks="key_stage" in fr,
                        academy=True) if "leaving_year" in fr else {}
sel = ui.label_academies(ctx, ui.apply(fr, f, academy=False)) if f else ui.label_academies(ctx, fr)
goal_col = "goal_title" if "goal_title" in sel else ui.find_col(sel, "goal", numeric=False)
val_col = next((c for c in ("share_pct", "value_pct", "actual_pct", "value", "pct") if c in sel), None) \
    or ui.find_col(sel, "pct", numeric=True)
tgt_col = ui.find_col(sel, "target", numeric=True)
cmp_col = ui.find_col(sel, "comparator", numeric=True) or ui.find_col(sel, "national", numeric=True)
if goal_col and val_col and len(sel):
    for goal, g in sel.groupby(goal_col, sort=False):
        g = g.dropna(subset=[val_col])
        if g.empty:
            continue
        trust = g[g["level"] == "trust"] if "level" in g else g.iloc[0:0]
        tgt = g[tgt_col].dropna().iloc[0] if tgt_col and g[tgt_col].notna().any() else None
        cmpv = g[cmp_col].dropna().iloc[0] if cmp_col and g[cmp_col].notna().any() else None
        if len(trust):
            tv = float(trust[val_col].iloc[0])
            title = f"{goal}: trust at {tv:.1f}%" + (
                f", {'meeting' if tgt is not None and tv >= tgt else 'short of'} the {tgt:.1f}% target"
                if tgt is not None else "")
        else:
            title = str(goal)
        fig = charts.bars(g, val_col, "academy", title, orientation="h",
                          ref=float(tgt) if tgt is not None else None, ref_label="target")
        if cmpv is not None:
            charts.ref_line(fig, float(cmpv), "national comparator", vertical=True,
                            color="#c44536", dash="dot")
        st.plotly_chart(fig, key=f"goal_{goal}")
src_col = ui.find_col(sel, "source", numeric=False)
if src_col and sel[src_col].notna().any():
    ui.caveat("national comparator: " + "; ".join(sorted(sel[src_col].dropna().astype(str).unique())) +
              ". Comparators describe national cohorts and routes as DfE/ONS define them; small academy "
              "groups swing widely.")
else:
    ui.caveat("national comparators describe national cohorts; small academy groups swing widely.")
ui.table(sel, gp.published, "stereotype_goals", key="goals")
