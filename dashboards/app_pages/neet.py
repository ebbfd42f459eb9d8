"""NEET and not known by academy and sub-group, against LA and England."""
import pandas as pd
import streamlit as st

from dashboards.lib import charts, data, ui
from dashboards.lib.benchmarks import pick

ctx = ui.page("NEET and not known", "trust_admin", "director", "academy",
              caption="Share of leavers not in education, employment or training (NEET), and whose "
                      "activity is not known, in the actual-destination round, against their "
                      "local authority and England.")
dm = ctx.load("destination_measures")
if not dm.ok:
    ui.not_published("Destination measures", dm)
    st.stop()
actual = dm.frame[dm.frame["round_kind"] == "actual"] if "round_kind" in dm.frame else \
    dm.frame[dm.frame["round"].map(ui.round_kind) == "actual"]
if actual.empty:
    st.info("No actual-destination round has been returned yet.")
    st.stop()
f = ui.standard_filters(ctx, actual, round_=True, topic=True)
bm = ui.benchmarks(ctx)
reg = data.register(ctx.serving, ctx.data_dir)
la_of = dict(zip(reg.get("urn", []), reg.get("la_code", []))) if "la_code" in reg else {}
eng_neet = pick(bm, "neet_pct", leaving_year=f["year"], sources=("nccis_neet",))
eng_nk = pick(bm, "not_known_pct", leaving_year=f["year"], sources=("nccis_neet",))

rows = ui.apply(actual, f, academy=False)
rows = ui.total_rows(rows)
rows = ui.label_academies(ctx, rows)
out = []
for _, r in rows.iterrows():
    urn = r.get("academy_urn")
    la = la_of.get(urn) if pd.notna(urn) else None
    la_neet = pick(bm, "neet_pct", leaving_year=f["year"], geography_level="la",
                   geography_code=la, sources=("nccis_neet",)) if la else None
    la_nk = pick(bm, "not_known_pct", leaving_year=f["year"], geography_level="la",
                 geography_code=la, sources=("nccis_neet",)) if la else None
    out.append({"academy": r["academy"], "level": r["level"], "cohort": r["cohort"],
                "neet_pct": r["neet_pct"], "not_known_pct": r["not_known_pct"],
                "la_code": la, "la_neet_pct": la_neet.value if la_neet else None,
                "la_not_known_pct": la_nk.value if la_nk else None,
                "england_neet_pct": eng_neet.value if eng_neet else None,
                "england_not_known_pct": eng_nk.value if eng_nk else None})
tab = pd.DataFrame(out)
if tab.empty:
    st.info("No rows for this selection.")
else:
    plot = tab.dropna(subset=["neet_pct"])
    long = plot.melt(id_vars="academy", value_vars=["neet_pct", "not_known_pct"],
                     var_name="measure", value_name="pct")
    long["measure"] = long["measure"].map({"neet_pct": "NEET", "not_known_pct": "Not known"})
    trust = tab[tab["level"] == "trust"]
    if eng_neet and len(trust) and pd.notna(trust["neet_pct"].iloc[0]):
        tv = float(trust["neet_pct"].iloc[0])
        title = f"Trust NEET {tv:.1f}%, {charts.pp(tv, eng_neet.value)} England ({eng_neet.value:.1f}%)"
    elif len(plot):
        worst = plot.sort_values("neet_pct").iloc[-1]
        title = f"Highest NEET: {worst['academy']} at {worst['neet_pct']:.1f}%"
    else:
        title = "NEET and not known"
    st.plotly_chart(charts.bars(long, "pct", "academy", title, color="measure", orientation="h",
                                ref=eng_neet.value if eng_neet else None,
                                ref_label="England NEET" if eng_neet else ""), key="neet_bars")
    src = f"England: {eng_neet.describe()}. " if eng_neet else "No England figure published yet. "
    ui.caveat(src + "LA figures are for the academy's home local authority. " + ui.BENCHMARK_CAVEAT)
    ui.table(tab.drop(columns=["level"]), dm.published, f"neet_{f['year']}", key="neet_table",
             exclude={"la_code"})

st.subheader(f"By {f.get('topic', 'Total').lower()}")
sub = ui.apply(actual, f)
sub = sub[sub["breakdown_topic"] == f.get("topic", "Total")]
ui.table(sub, dm.published, f"neet_by_{f.get('topic', 'Total')}", key="neet_sub",
         columns=["breakdown", "cohort", "neet", "neet_pct", "not_known", "not_known_pct"])

ded = ctx.load("neet_not_known_comparison", "neet_comparison", "neet_not_known_rates", "neet_rates",
               "neet_not_known")
if ded.ok:
    st.subheader("Against LA and England (pipeline comparison)")
    ui.table(ui.label_academies(ctx, ui.apply(ded.frame, f, academy=False)), ded.published,
             "neet_comparison", key="neet_ded")
