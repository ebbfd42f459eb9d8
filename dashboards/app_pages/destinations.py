"""Destinations by round, academy, sub-group and route; intended vs actual as a Sankey."""
import pandas as pd
import streamlit as st

from dashboards.lib import charts, ui

ctx = ui.page("Destinations", "trust_admin", "director", "academy",
              caption="Where leavers went (or intend to go), by round, academy, sub-group and route.")
dm = ctx.load("destination_measures")
if not dm.ok:
    ui.not_published("Destination measures", dm)
    st.stop()
f = ui.standard_filters(ctx, dm.frame, topic=True)
sel = ui.apply(dm.frame, f)
where = f"{ctx.academy_label(f['academy'])}, {f['year']} {f['round']}, {f['ks']}"

# 1. by sub-group
by = sel[sel["breakdown_topic"] == f.get("topic", "Total")].copy()
if "breakdown_order" in by:
    by = by.sort_values("breakdown_order")
st.subheader(f"By {f.get('topic', 'Total').lower()}: {where}")
plot = by.dropna(subset=["positive_pct"])
if not plot.empty:
    top = plot.sort_values("positive_pct").iloc[-1]
    low = plot.sort_values("positive_pct").iloc[0]
    title = (f"{top['breakdown']}: {top['positive_pct']:.1f}% positive destinations"
             + (f", {low['breakdown']}: {low['positive_pct']:.1f}%" if len(plot) > 1 else ""))
    st.plotly_chart(charts.stacked_groups(plot, "breakdown", title), key="by_breakdown")
if len(plot) < len(by):
    st.caption("Groups shown as c in the table are suppressed and left out of the chart.")
cols = ["breakdown_topic", "breakdown", "cohort"] + [f"{g}_pct" for g in charts.GROUPS] + \
       ["positive_pct", "undecided_pct"]
ui.table(by, dm.published, f"destinations_{f['year']}_{f['round']}", key="by_breakdown", columns=cols)

# 2. by academy (only the academies this viewer may see)
acad = ui.apply(dm.frame, f, academy=False)
acad = acad[(acad["breakdown_topic"] == "Total") & (acad["level"] == "academy")]
if len(acad) > 0:
    st.subheader(f"By academy: {f['year']} {f['round']}, {f['ks']}")
    acad = ui.label_academies(ctx, acad)
    ok = acad.dropna(subset=["positive_pct"]).sort_values("positive_pct")
    trust = ui.total_rows(ui.apply(dm.frame, {**f, "academy": ui.TRUST}))
    tval = trust["positive_pct"].iloc[0] if len(trust) and pd.notna(trust["positive_pct"].iloc[0]) else None
    if not ok.empty:
        title = (f"{ok.iloc[-1]['academy']} highest at {ok.iloc[-1]['positive_pct']:.1f}% positive"
                 + (f"; {ok.iloc[0]['academy']} lowest at {ok.iloc[0]['positive_pct']:.1f}%" if len(ok) > 1 else ""))
        st.plotly_chart(charts.bars(ok, "positive_pct", "academy", title, orientation="h",
                                    ref=tval, ref_label="trust" if tval is not None else ""),
                        key="by_academy")
    ui.table(acad, dm.published, f"by_academy_{f['year']}_{f['round']}", key="by_academy",
             columns=["academy", "cohort", "positive_pct", "education_pct", "apprenticeship_pct",
                      "employment_pct", "training_pct", "neet_pct", "not_known_pct"])

# 3. routes
routes = ctx.load("route_measures", "destination_routes", "route_destinations")
st.subheader("By route")
if routes.ok:
    r = ui.apply(routes.frame, f)
    rc = ui.find_col(r, "route")
    vc = ui.find_col(r, "pct", numeric=True) or ui.find_col(r, "pupils", numeric=True) or \
        ui.find_col(r, "count", numeric=True)
    if rc and vc and len(r):
        agg = r.groupby(rc, as_index=False)[vc].sum(min_count=1).dropna().sort_values(vc)
        if len(agg):
            st.plotly_chart(charts.bars(agg, vc, rc, f"Most common route: {agg.iloc[-1][rc]}",
                                        orientation="h"), key="routes")
    ui.table(ui.label_academies(ctx, r), routes.published, "routes", key="routes")
else:
    ui.not_published("Destinations by route", routes)

# 4. intended vs actual
st.subheader("Intended vs actual")
flows = ctx.load("intended_actual_flows", "reconciliation_flows", "destination_flows",
                 "reconciliation_sankey", "destination_reconciliation_flows")
if flows.ok:
    fl = ui.apply(flows.frame, f, round_=False)
    src = ui.find_col(fl, "intended", numeric=False)
    dst = ui.find_col(fl, "actual", numeric=False)
    val = ui.find_col(fl, "pupils", numeric=True) or ui.find_col(fl, "count", numeric=True) or \
        ui.find_col(fl, "n", numeric=True)
    if src and dst and val and len(fl):
        g = fl.groupby([src, dst], as_index=False)[val].sum(min_count=1).dropna()
        g = g[g[val] > 0]
        if len(g):
            same = g[g[src] == g[dst]][val].sum()
            share = 100 * same / g[val].sum()
            st.plotly_chart(charts.sankey(g, src, dst, val,
                                          f"{share:.0f}% of leavers went where they intended"),
                            key="sankey")
        ui.table(g, flows.published, "intended_vs_actual", key="flows")
    else:
        st.caption("No intended-vs-actual flows for this selection.")
else:
    ui.not_published("Intended vs actual flows", flows)
rec = ctx.load("reconciliation_rates", "destination_reconciliation_rates", "intended_actual_rates")
if rec.ok:
    ui.table(ui.label_academies(ctx, ui.apply(rec.frame, f, round_=False)), rec.published,
             "reconciliation_rates", key="rec_rates")
