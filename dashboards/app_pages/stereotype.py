"""Stereotype-countering goals: every goal, against its target and comparator, over the years."""
import pandas as pd
import streamlit as st

from dashboards.lib import charts, ui
from pipelines.lib import serving_contract as contract

ctx = ui.page("Stereotype goals", "trust_admin", "director", "academy",
              caption="Goals set by the trust (config/goals.yaml) for routes where one group is under-"
                      "represented, e.g. girls into engineering, construction and digital.")
gp = ctx.load("goal_progress")
if not gp.ok:
    ui.not_published("Stereotype goal progress", gp)
    st.stop()
fr = gp.frame
f = ui.standard_filters(ctx, fr, ks=False)
ui.period_notice(fr, f)
sel = ui.label_academies(ctx, ui.apply(fr, f, academy=False))
focus = ui.select_academy(sel, f["academy"])
goals = list(dict.fromkeys(fr.sort_values("goal_id")["goal_title"]))
if focus.empty:
    ui.empty(f"No goal progress for {ctx.academy_label(f['academy'])} in {f['year']} {f['round']}: "
             "the return may not have arrived yet.")
    st.stop()


def verdict(r: dict) -> str:
    """The verdict the pack prints too: from the mart's is_on_track, `c` when the share is withheld."""
    if contract.state(r, "share_pct") == contract.SUPPRESSED:
        return contract.SUPPRESSED
    if contract.is_missing(r.get("is_on_track")):
        return "-"
    return "met" if bool(r["is_on_track"]) else "not met"


recs = {r["goal_title"]: r for r in focus.to_dict("records")}
met = sum(1 for r in recs.values() if verdict(r) == "met")
hidden = sum(1 for r in recs.values() if verdict(r) == contract.SUPPRESSED)
st.subheader(f"{ctx.academy_label(f['academy'])}: {met} of {len(recs)} goals met, {f['year']} {f['round']}"
             + (f" ({hidden} withheld to protect pupils)" if hidden else ""))
summary = pd.DataFrame([{   # the verdict next to the goal: still in view on a tablet
    "goal": g, "verdict": verdict(recs[g]) if g in recs else "-",
    "share": contract.show(recs[g], "share_pct") if g in recs else "-",
    "target": contract.show(recs[g], "target_pct") if g in recs else "-",
    "key_stage": recs[g]["key_stage"] if g in recs else "-",
    "national_comparator": (contract.show(recs[g], "comparator_pct") + (f" ({recs[g]['comparator_year']})"
                            if recs[g].get("comparator_year") else "")) if g in recs else "-"} for g in goals])
summary.columns = ["Goal", "Verdict", "Trust / academy %", "Target %", "Key stage", "National comparator %"]
st.dataframe(summary, hide_index=True, width="stretch", key="df_goal_summary")
st.caption("Key stage 'all' = leavers of both key stages together. Verdict: the share against the target "
           "(at least / at most, as the goal says); the trustee pack prints the same verdict.")

# progress over the years: one small chart per goal (share against target), actual rounds
hist = ui.select_academy(fr, f["academy"])
hist = hist[hist["round_kind"] == "actual"].sort_values("leaving_year")
cols = st.columns(2)
for i, g in enumerate(goals):
    h = hist[hist["goal_title"] == g]
    if h.empty:
        continue
    line = pd.concat([pd.DataFrame({"leaving_year": h["leaving_year"], "series": "Share", "pct": h["share_pct"]}),
                      pd.DataFrame({"leaving_year": h["leaving_year"], "series": "Target", "pct": h["target_pct"]})],
                     ignore_index=True).dropna(subset=["pct"])
    last = h.iloc[-1].to_dict()
    title = (f"{g}<br><sup>{contract.show(last, 'share_pct')}% in {last['leaving_year']}, "
             f"target {contract.show(last, 'target_pct')}%</sup>")
    with cols[i % 2]:
        ui.chart(charts.trend(line, "leaving_year", "pct", title, color="series"), f"goal_{last['goal_id']}")
srcs = sorted({f"{d} ({y}): {s}" for d, y, s in focus[["comparator_description", "comparator_year",
                                                         "comparator_source"]].dropna().itertuples(index=False)})
ui.caveat(("national comparators: " + "; ".join(srcs) + ". " if srcs else "") +
          "Comparators describe national cohorts and routes as DfE/ONS define them; small academy groups "
          "swing widely.")
ui.table(sel, gp.published, "stereotype_goals", key="goals",
         columns=["academy", "goal_title", "key_stage", "numerator", "denominator", "share_pct", "target_pct",
                  "comparator_pct", "is_on_track"])
