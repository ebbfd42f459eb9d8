"""Disadvantage and SEND gaps in positive destinations, against the national gaps."""
import pandas as pd
import streamlit as st

from dashboards.lib import charts, ui
from dashboards.lib.benchmarks import DEST_SOURCES, pick

ctx = ui.page("Disadvantage and SEND gaps", "trust_admin", "director", "academy",
              caption="Gap = percentage points between the comparison group and the group named "
                      "(positive destinations). A positive gap means the group does worse.")
GAPS = [("Disadvantage gap", "Disadvantage", "Not disadvantaged", "Disadvantaged"),
        ("SEN support gap", "SEN provision", "No SEN", "SEN support"),
        ("EHC plan gap", "SEN provision", "No SEN", "EHC plan")]
dm = ctx.load("destination_measures")
if not dm.ok:
    ui.not_published("Destination measures", dm)
    st.stop()
f = ui.standard_filters(ctx, dm.frame)
measure = st.radio("Measure", ["positive_pct", "neet_pct", "education_pct"], horizontal=True,
                   format_func=lambda m: {"positive_pct": "Positive destinations", "neet_pct": "NEET",
                                          "education_pct": "Education"}[m], key="w_gap_measure")
bm = ui.benchmarks(ctx)
rows = ui.label_academies(ctx, ui.apply(dm.frame, f, academy=False))


# one row per academy (and trust), one column per breakdown: vectorised, fast at scale
rows = rows[rows["breakdown_topic"].isin({g[1] for g in GAPS})]
wide = rows.groupby(["level", "academy", "breakdown"], sort=False)[measure].first().unstack("breakdown")
out = []
for name, topic, ref, grp in GAPS:
    nat_a = pick(bm, measure, key_stage=f["ks"], leaving_year=f["year"], breakdown_topic=topic,
                 breakdown=ref, sources=DEST_SOURCES.get(f["ks"]))
    nat_b = pick(bm, measure, key_stage=f["ks"], leaving_year=f["year"], breakdown_topic=topic,
                 breakdown=grp, sources=DEST_SOURCES.get(f["ks"]))
    nat = (nat_a.value - nat_b.value) if nat_a and nat_b and nat_a.leaving_year == nat_b.leaving_year else None
    a = wide[ref] if ref in wide else pd.Series(float("nan"), index=wide.index)
    b = wide[grp] if grp in wide else pd.Series(float("nan"), index=wide.index)
    out.append(pd.DataFrame({"academy": wide.index.get_level_values("academy"),
                             "level": wide.index.get_level_values("level"), "gap": name,
                             "comparison_group_pct": a.to_numpy(), "group_pct": b.to_numpy(),
                             "gap_pp": (a - b).to_numpy(),
                             "national_gap_pp": round(nat, 1) if nat is not None else float("nan"),
                             "national_year": nat_a.leaving_year if nat_a else None}))
tab = pd.concat(out, ignore_index=True) if out else pd.DataFrame()
if not tab.empty:
    tab = tab.sort_values(["level", "academy"], ascending=[False, True], kind="stable")

if tab.empty:
    st.info("No rows for this selection.")
    st.stop()
if measure == "neet_pct":
    tab["gap_pp"] = -tab["gap_pp"]
    tab["national_gap_pp"] = -tab["national_gap_pp"]
focus = tab[tab["academy"] == (ctx.academy_label(f["academy"]) if f["academy"] != ui.TRUST else "Trust")]
if focus.empty:
    focus = tab[tab["level"] == "trust"]
head = focus[focus["gap"] == "Disadvantage gap"]
if len(head) and pd.notna(head["gap_pp"].iloc[0]):
    g, n = head["gap_pp"].iloc[0], head["national_gap_pp"].iloc[0]
    title = f"{head['academy'].iloc[0]}: disadvantage gap {g:.1f} points" + (
        f", {'wider' if g > n else 'narrower'} than England's {n:.1f}" if pd.notna(n) else "")
else:
    title = "Gaps against England"
plot = focus.melt(id_vars="gap", value_vars=["gap_pp", "national_gap_pp"], var_name="series",
                  value_name="pp").dropna()
plot["series"] = plot["series"].map({"gap_pp": "Trust / academy", "national_gap_pp": "England"})
if len(plot):
    st.plotly_chart(charts.bars(plot, "gap", "pp", title, color="series"), key="gaps_chart")
nat_year = tab["national_year"].dropna()
ui.caveat((f"England gaps from DfE destination measures for {nat_year.iloc[0]}. " if len(nat_year)
           else "No national gap published for this key stage yet. ") + ui.BENCHMARK_CAVEAT +
          " Small groups make academy gaps swing from year to year.")
ui.table(tab.drop(columns=["level"]), dm.published, f"gaps_{f['year']}_{f['round']}", key="gaps",
         exclude={"national_year", "national_gap_pp"})
ded = ctx.load("gap_measures", "disadvantage_send_gaps", "destination_gaps", "gaps_vs_national")
if ded.ok:
    st.subheader("Gaps computed by the pipeline")
    ui.table(ui.label_academies(ctx, ui.apply(ded.frame, f, academy=False)), ded.published,
             "gaps_pipeline", key="gaps_ded")
