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

# 3. routes (actual destinations' occupational route)
st.subheader("By route")
routes = ctx.load("route_measures")
if routes.ok:  # a published route mart, when the pipeline provides one
    r = ui.label_academies(ctx, ui.apply(routes.frame, f))
    ui.table(r, routes.published, "routes", key="routes")
elif ctx.sees_pupils:
    # admins and academies may read pupil rows: count routes from the reconciliation list
    rec_p = ctx.load("destination_reconciliation")
    if rec_p.ok and "actual_route" in rec_p.frame:
        rp = ui.apply(rec_p.frame, f, round_=False)
        rp = rp[rp["actual_route"].notna() & (rp["actual_route"] != "Not applicable")]
        if "intended_round" in rp and len(rp):  # one row per pupil
            rp = rp[rp["intended_round"] == ui.sort_rounds(rp["intended_round"].unique())[-1]]
        if len(rp):
            sex = "sex_label" if "sex_label" in rp else None
            g = rp.groupby(["actual_route"] + ([sex] if sex else []), as_index=False).size()
            g = g.rename(columns={"size": "pupils", "actual_route": "route"})
            tot = g.groupby("route")["pupils"].sum().sort_values()
            g["route"] = pd.Categorical(g["route"], categories=list(tot.index), ordered=True)
            g = g.sort_values("route")
            st.plotly_chart(charts.bars(g, "pupils", "route",
                                        f"Most common route: {tot.index[-1]} ({int(tot.iloc[-1])} leavers)",
                                        color=sex, orientation="h", barmode="stack"), key="routes")
            st.caption("Counts of pupils (actual round). Pupil-level source: small numbers are "
                       "not suppressed here, so do not share this chart outside the trust.")
            ui.table(g, False, "routes", key="routes_tab")
        else:
            st.caption("No actual destinations with a route for this selection.")
    else:
        ui.not_published("Destinations by route", rec_p)
else:
    ui.not_published("Destinations by route (published, suppressed)")

# 4. intended vs actual
st.subheader("Intended vs actual")
flows = ctx.load("destination_reconciliation_flows", "intended_actual_flows", "reconciliation_flows")
rec = ctx.load("destination_reconciliation_rates", "reconciliation_rates")
if flows.ok:
    fl = ui.apply(flows.frame, f, round_=False)
    rcol = "intended_round" if "intended_round" in fl else None
    if rcol and len(fl):
        irs = ui.sort_rounds(fl[rcol].unique())
        ir = ui.choose("Intended round compared", irs, "f_intended_round", irs[-1], fmt=ui.round_label,
                       where=st)
        fl = fl[fl[rcol] == ir]
    src = "source_group" if "source_group" in fl else ui.find_col(fl, "intended", numeric=False)
    dst = "target_group" if "target_group" in fl else ui.find_col(fl, "actual", numeric=False)
    val = "pupils" if "pupils" in fl else ui.find_col(fl, "count", numeric=True)
    if src and dst and val and len(fl):
        g = fl.groupby([src, dst], as_index=False)[val].sum(min_count=1).dropna()
        g = g[g[val] > 0]
        if len(g):
            same = g[g[src] == g[dst]][val].sum()
            share = 100 * same / g[val].sum()
            st.plotly_chart(charts.sankey(g, src, dst, val,
                                          f"{share:.0f}% of leavers went where they intended "
                                          f"({ctx.academy_label(f['academy'])}, {f['year']})"),
                            key="sankey")
        if flows.published:
            st.caption("Flows of fewer pupils than the suppression threshold are left out "
                       "or shown as c.")
        ui.table(g, flows.published, "intended_vs_actual", key="flows")
    else:
        st.caption("No intended-vs-actual flows for this selection (needs an actual round).")
else:
    ui.not_published("Intended vs actual flows", flows)
if rec.ok:
    r = ui.apply(rec.frame, f, round_=False)
    if "intended_round" in r and st.session_state.get("f_intended_round") in set(r["intended_round"]):
        r = r[r["intended_round"] == st.session_state["f_intended_round"]]
    if "breakdown_topic" in r:
        r = r[r["breakdown_topic"] == f.get("topic", "Total")]
    st.markdown("**Did intentions come true?** Share of pupils whose actual destination matched "
                "their intention, changed route, became NEET or not known.")
    ui.table(r, rec.published, "reconciliation_rates", key="rec_rates",
             columns=["breakdown", "pupils", "realised_pct", "changed_route_pct", "became_neet_pct",
                      "became_not_known_pct", "no_intention_recorded_pct", "not_in_actual_return_pct"])
