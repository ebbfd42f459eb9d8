"""Destinations by round, academy, sub-group and route; intended vs actual as a Sankey."""
import pandas as pd
import streamlit as st

from dashboards.lib import charts, ui
from pipelines.lib import serving_contract as contract

ctx = ui.page("Destinations", "trust_admin", "director", "academy",
              caption="Where leavers went (or intend to go), by round, academy, sub-group and route.")
dm = ctx.load("destination_measures")
if not dm.ok:
    ui.not_published("Destination measures", dm)
    st.stop()
f = ui.standard_filters(ctx, dm.frame, topic=True)
ui.period_notice(dm.frame, f)
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
    ui.chart(charts.stacked_groups(plot, "breakdown", title), "by_breakdown")
if len(plot) < len(by):
    st.caption("Groups shown as c in the table are suppressed and left out of the chart.")
cols = ["breakdown_topic", "breakdown", "cohort"] + [f"{g}_pct" for g in charts.GROUPS] + \
       ["positive_pct", "undecided_pct"]
cols.remove("neet_pct")  # NEET is the NEET page's figure (custody out of the denominator)
cols.remove("not_known_pct")
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
        ui.chart(charts.bars(ok, "positive_pct", "academy", title, orientation="h",
                             ref=tval, ref_label="trust" if tval is not None else ""), "by_academy")
    ui.table(acad, dm.published, f"by_academy_{f['year']}_{f['round']}", key="by_academy",
             columns=["academy", "cohort", "positive_pct", "education_pct", "apprenticeship_pct",
                      "employment_pct", "training_pct", "other_pct"])

# 3. routes and providers (published cells for directors; own academies unsuppressed for academies)
st.subheader(f"By route: {ctx.academy_label(f['academy'])}, {f['year']} {f['round']}, {f['ks']}")
routes = ctx.load("destination_routes")
if not routes.ok:
    ui.not_published("Destinations by route", routes)
else:
    rf = ui.select_academy(routes.frame, f["academy"])
    rf = rf[rf["key_stage"] == f["ks"]]
    now = rf[(rf["leaving_year"] == f["year"]) & (rf["round"] == f["round"])]
    years = sorted(rf.loc[(rf["round"] == f["round"]) & (rf["leaving_year"] < f["year"]), "leaving_year"].unique())
    prev = rf[(rf["leaving_year"] == years[-1]) & (rf["round"] == f["round"])] if years else rf.iloc[0:0]
    if now.empty:
        ui.empty(f"No route recorded for {ctx.academy_label(f['academy'])} in {f['year']} {f['round']}: the "
                 "return may not have arrived, or its destinations carry no route.")
    else:
        tab = now.merge(prev[["route", "pupils_pct", "suppressed_measures"] if "suppressed_measures" in prev
                             else ["route", "pupils_pct"]].rename(
                                 columns={"pupils_pct": "previous_pct", "suppressed_measures": "_prev_sup"}),
                        on="route", how="left")
        recs = tab.to_dict("records")
        prev_recs = {r["route"]: r for r in prev.to_dict("records")}
        tab["change_pp"] = [None if contract.state(r, "pupils_pct") or r["route"] not in prev_recs
                            or contract.state(prev_recs[r["route"]], "pupils_pct")
                            else float(r["pupils_pct"]) - float(prev_recs[r["route"]]["pupils_pct"]) for r in recs]
        tab["previous_pct"] = [contract.show(prev_recs[r["route"]], "pupils_pct") if r["route"] in prev_recs
                               else "-" for r in recs]
        tab = tab.sort_values("pupils", ascending=False, na_position="last")
        plot = tab.dropna(subset=["pupils_pct"]).sort_values("pupils_pct")
        if len(plot):
            top = plot.iloc[-1]
            ui.chart(charts.bars(plot, "pupils_pct", "route",
                                 f"Most common route: {top['route']} ({contract.fmt_number(top['pupils_pct'], 'pct')}% "
                                 "of leavers with a route)", orientation="h"), "routes_chart")
        ui.table(tab, routes.published, f"routes_{f['year']}_{f['round']}", key="routes",
                 columns=["route", "pupils", "pupils_pct", "previous_pct", "change_pp"],
                 exclude={"previous_pct"})
        st.caption(f"Change (pp): against {years[-1]} {f['round']}, where both years are shown." if years
                   else "No earlier year to compare with yet.")

st.subheader(f"By provider: {ctx.academy_label(f['academy'])}, {f['year']}, {f['ks']} (actual destinations)")
prov = ctx.load("destination_providers")
if not prov.ok:
    ui.not_published("Destinations by provider", prov)
else:
    pf = ui.select_academy(prov.frame, f["academy"])
    pf = pf[(pf["key_stage"] == f["ks"]) & (pf["leaving_year"] == f["year"])]
    if pf.empty:
        ui.empty(f"No providers recorded for {f['year']} actual destinations yet (they arrive with the "
                 "actual-destination return in the autumn after leaving).")
    else:
        group = st.radio("Destination type", sorted(pf["destination_group"].unique()), horizontal=True,
                         key="w_provider_group", format_func=lambda g: charts.GROUP_LABELS.get(g, g))
        pf = pf[pf["destination_group"] == group]
        prev_y = sorted(prov.frame.loc[prov.frame["leaving_year"] < f["year"], "leaving_year"].unique())
        prev = ui.select_academy(prov.frame, f["academy"])
        prev = prev[(prev["key_stage"] == f["ks"]) & (prev["destination_group"] == group)
                    & (prev["leaving_year"] == (prev_y[-1] if prev_y else ""))]
        pp = {r["provider"]: r for r in prev.to_dict("records")}
        pf = pf.assign(previous_year=[contract.show(pp[p], "pupils") if p in pp else "-" for p in pf["provider"]])
        pf = pf.sort_values("pupils", ascending=False, na_position="last")
        ui.table(pf, prov.published, f"providers_{f['year']}_{group}", key="providers", height=360,
                 columns=["provider", "pupils", "previous_year"], exclude={"previous_year"})
        st.caption("Providers as the academies recorded them (colleges, universities, employers, training "
                   "providers). " + (f"Previous year: {prev_y[-1]}." if prev_y else "No earlier year yet."))

# 4. intended vs actual
st.subheader("Intended vs actual")
flows = ctx.load("destination_reconciliation_flows")
rec = ctx.load("destination_reconciliation_rates")
if flows.ok:
    fl = ui.apply(flows.frame, f, round_=False)
    rcol = "intended_round" if "intended_round" in fl else None
    if rcol and len(fl):
        irs = ui.sort_rounds(fl[rcol].unique())
        ir = ui.choose("Intended round compared", irs, "f_intended_round", irs[-1], fmt=ui.round_label,
                       where=st)
        fl = fl[fl[rcol] == ir]
    src, dst, val = "source_group", "target_group", "pupils"
    if len(fl):
        g = fl[fl[val].notna() & (fl[val] > 0)]
        realised = None
        if rec.ok:  # the headline is the published realised share, not a sum of the shown flows
            rr = ui.apply(rec.frame, f, round_=False)
            rr = rr[(rr["intended_round"] == ir) & (rr["breakdown_topic"] == "Total")]
            if len(rr) and ui.value(rr, "realised_pct") is not None:
                realised = ui.cell(rr, "realised_pct", suffix="%")
        if len(g):
            ui.chart(charts.sankey(g, src, dst, val,
                                   (f"{realised} of leavers went where they intended" if realised else
                                    "Intended against actual destinations") +
                                   f" ({ctx.academy_label(f['academy'])}, {f['year']})"), "sankey")
        if flows.published:
            st.caption("Flows withheld (c) are left out of the chart.")
        ui.table(fl.sort_values(val, ascending=False), flows.published, "intended_vs_actual", key="flows",
                 columns=[src, dst, val])
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
