"""Similar schools: each academy's published destination measures against the schools most like it."""
import streamlit as st

from dashboards.lib import ui

ctx = ui.page("Similar schools", "trust_admin", "director", "academy",
              caption="Each academy against the schools in England most like it (DfE school-level destination "
                      "measures). The academy's figures are its published ones (c = withheld).")
comp = ctx.load("similar_schools_comparison")
sim = ctx.load("similar_schools")
if not sim.ok or sim.frame is None or sim.frame.empty:
    ui.not_published("Similar schools", sim if not sim.ok else None)
    st.caption("Similar schools need DfE's school-level destination measures: drop `england_ks4-pupdest.csv` "
               "(and `england_ks5-studest.csv`, with their `_meta.csv` files) into `raw/benchmarks/` and run "
               "`destinations run`.")
    st.stop()
urns = sorted(sim.frame["academy_urn"].dropna().unique())
urn = st.selectbox("Academy", urns, format_func=ctx.academy_label, key="w_similar_academy")
peers = sim.frame[sim.frame["academy_urn"] == urn].sort_values("similarity_rank")
st.caption(str(peers["method"].iloc[0]) if len(peers) else "")
st.subheader("Most similar schools")
st.dataframe(peers[["similarity_rank", "similar_name", "similar_urn", "similar_la_code", "similar_ks4_cohort",
                    "similar_disadvantaged_share", "similar_has_sixth_form", "distance"]].rename(columns={
                        "similarity_rank": "rank", "similar_name": "school", "similar_urn": "URN",
                        "similar_la_code": "LA", "similar_ks4_cohort": "KS4 leavers",
                        "similar_disadvantaged_share": "disadvantaged share",
                        "similar_has_sixth_form": "sixth form"}),
             hide_index=True, use_container_width=True)
if comp.ok and comp.frame is not None:
    c = comp.frame[comp.frame["academy_urn"] == urn].sort_values(["key_stage", "measure_order"])
    st.subheader("Destinations against similar schools")
    shown = c.assign(academy=c["academy_pct"].map(lambda v: "c" if v != v or v is None else f"{v:.1f}"))
    st.dataframe(shown[["key_stage", "measure", "academy", "similar_median_pct", "similar_min_pct",
                        "similar_max_pct", "similar_schools", "academy_leaving_year", "similar_leaving_year"]]
                 .rename(columns={"academy": "academy %", "similar_median_pct": "similar median %",
                                  "similar_min_pct": "lowest %", "similar_max_pct": "highest %",
                                  "similar_schools": "schools"}),
                 hide_index=True, use_container_width=True)
    ui.caveat("The academy's figures are an autumn snapshot of its latest leavers; the schools' are DfE's "
              "sustained destinations for an earlier cohort (DfE publishes about two years late): a guide only.")
