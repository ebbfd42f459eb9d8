"""Disadvantage and SEND gaps, against the national gaps for the same year."""
import pandas as pd
import streamlit as st

from dashboards.lib import charts, ui
from pipelines.lib import serving_contract as contract

ctx = ui.page("Disadvantage and SEND gaps", "trust_admin", "director", "academy",
              caption="Gap = the group's share minus the comparison group's share, in percentage "
                      "points (pp). For EET (education, employment or training) a negative gap means "
                      "the group does worse; for NEET a positive gap does.")
MEASURES = {m: contract.measure_labels(short=True)[m] for m in ("positive", "education", "apprenticeship", "neet")}
COLS = ["academy", "gap", "group_pct", "comparison_pct", "gap_pp", "national_gap_pp",
        "national_year", "national_source"]

gm = ctx.load("destination_gaps")
if not gm.ok:
    ui.not_published("Disadvantage and SEND gaps", gm)
    st.stop()
f = ui.standard_filters(ctx, gm.frame)
ui.period_notice(gm.frame, f)
measure = st.radio("Measure", list(MEASURES), horizontal=True, format_func=MEASURES.get,
                   key="w_gap_measure")
g = ui.label_academies(ctx, ui.apply(gm.frame, f, academy=False))
g = g[g["measure"] == measure].sort_values(["level", "academy", "gap_order"], ascending=[False, True, True])
nat = [contract.national_gap(r) for r in g.to_dict("records")]
tab = g.assign(national_gap_pp=[x[0] for x in nat], national_year=[x[1] for x in nat],
               national_source=g["national_source"].fillna(g["latest_national_source"]))
published = gm.published
if tab.empty:
    ui.empty("No gaps for this selection: the return for this round may not have arrived yet.")
    st.stop()
want = ctx.academy_label(f["academy"]) if f["academy"] not in (None, ui.TRUST) else "Trust"
focus = tab[tab["academy"] == want]
if focus.empty:
    focus = tab[tab["level"] == "trust"]
head = focus[focus["gap"].astype(str).str.startswith("Disadvantage")]
if len(head) and ui.value(head, "gap_pp") is not None:
    gv, nv = float(head["gap_pp"].iloc[0]), head["national_gap_pp"].iloc[0]
    title = f"{head['academy'].iloc[0]}: disadvantage gap {gv:+.1f} pp" + (
        f", {'wider' if abs(gv) > abs(nv) else 'narrower'} than England's {float(nv):+.1f} pp"
        if pd.notna(nv) else "")
else:
    title = f"{MEASURES[measure]}: gaps against England"
plot = focus.melt(id_vars="gap", value_vars=["gap_pp", "national_gap_pp"], var_name="series",
                  value_name="pp").dropna()
plot["series"] = plot["series"].map({"gap_pp": "Trust / academy", "national_gap_pp": "England"})
if len(plot):
    ui.chart(charts.bars(plot, "gap", "pp", title, color="series"), "gaps_chart")
yrs = sorted(tab["national_year"].dropna().astype(str).unique()) if "national_year" in tab else []
ui.caveat((f"England gaps from DfE destination measures ({', '.join(yrs)}); where DfE has not yet "
           "published the same year the latest earlier year is shown. " if yrs else
           "No national gap published for this key stage yet. ") +
          ("NEET is compared with DfE's 'not sustained' share, the nearest national measure. "
           if measure == "neet" else "") + ui.BENCHMARK_CAVEAT +
          " Small groups make academy gaps swing from year to year.")
tab = tab.assign(national_gap_pp=[contract.fmt_number(x, "pp") if pd.notna(x) else "-"
                                  for x in tab["national_gap_pp"]])
ui.table(tab, published, f"gaps_{measure}_{f['year']}_{f['round']}", key="gaps", columns=COLS,
         exclude={"national_year", "national_gap_pp"})
