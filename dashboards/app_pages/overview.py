"""Overview: headline rates for the latest rounds against national, trend by year."""
import pandas as pd
import streamlit as st

from dashboards.lib import charts, ui
from dashboards.lib.benchmarks import DEST_SOURCES, pick

ctx = ui.page("Overview", "trust_admin", "director", "academy",
              caption="Headline destinations for the selected leaving year, every round, "
                      "with the national figure alongside.")
dm = ctx.load("destination_measures")
if not dm.ok:
    ui.not_published("Destination measures", dm)
    st.stop()
f = ui.standard_filters(ctx, dm.frame, round_=False)
rows = ui.total_rows(ui.select_academy(dm.frame, f["academy"]))
rows = rows[rows["key_stage"] == f["ks"]]
year_rows = rows[rows["leaving_year"] == f["year"]]
bm = ui.benchmarks(ctx)
nat_pos = pick(bm, "positive_pct", key_stage=f["ks"], leaving_year=f["year"],
               sources=DEST_SOURCES.get(f["ks"]))
nat_neet = pick(bm, "neet_pct", leaving_year=f["year"], sources=("nccis_neet",))
nat_nk = pick(bm, "not_known_pct", leaving_year=f["year"], sources=("nccis_neet",))

st.subheader(f"{ctx.academy_label(f['academy'])}, leaving year {f['year']}, {f['ks']}")
if year_rows.empty:
    st.info("No destination returns for this selection yet.")
for r in ui.sort_rounds(year_rows["round"].unique()):
    one = year_rows[year_rows["round"] == r].head(1)
    row = one.iloc[0]
    st.markdown(f"**{ui.round_label(r)}** ({ui.round_kind(r)})")
    c = st.columns(4)
    c[0].metric("Pupils in cohort", ui.cell(one, "cohort", dm.published))
    for col, (label, m, nat, better_up) in zip(c[1:], [
            ("Positive destinations", "positive_pct", nat_pos, True),
            ("NEET", "neet_pct", nat_neet, False),
            ("Not known", "not_known_pct", nat_nk, False)]):
        v = row.get(m)
        delta = None
        # national figures are actual (sustained) destinations: compare actual rounds only
        if ui.round_kind(r) == "actual" and nat is not None and v is not None and pd.notna(v):
            delta = f"{float(v) - nat.value:+.1f} pts vs England ({nat.value:.1f}%)"
        col.metric(label, ui.cell(one, m, dm.published, "%"), delta=delta,
                   delta_color="normal" if better_up else "inverse")
# The selected year may have only intended rounds so far: show the latest actual round too.
if not any(ui.round_kind(r) == "actual" for r in year_rows["round"].unique()):
    act = rows[rows["round"].map(ui.round_kind) == "actual"]
    if len(act):
        ly = ui.latest_year(list(act["leaving_year"].unique()))
        one = act[act["leaving_year"] == ly].sort_values("round").tail(1)
        r = one["round"].iloc[0]
        nat = pick(bm, "positive_pct", key_stage=f["ks"], leaving_year=ly, sources=DEST_SOURCES.get(f["ks"]))
        st.markdown(f"**Latest actual destinations: {ly}, {ui.round_label(r)}**")
        c = st.columns(4)
        c[0].metric("Pupils in cohort", ui.cell(one, "cohort", dm.published))
        v = one["positive_pct"].iloc[0]
        c[1].metric("Positive destinations", ui.cell(one, "positive_pct", dm.published, "%"),
                    delta=(f"{float(v) - nat.value:+.1f} pts vs England {nat.leaving_year} ({nat.value:.1f}%)"
                           if nat is not None and pd.notna(v) else None))
        c[2].metric("NEET", ui.cell(one, "neet_pct", dm.published, "%"))
        c[3].metric("Not known", ui.cell(one, "not_known_pct", dm.published, "%"))
ui.caveat("intended rounds are not compared with England: national figures are actual "
          "destinations. " + ui.BENCHMARK_CAVEAT)

# Trend: actual-round positive rate by leaving year against national.
actual = [r for r in ui.sort_rounds(rows["round"].unique()) if ui.round_kind(r) == "actual"]
trend_round = actual[-1] if actual else (ui.sort_rounds(rows["round"].unique()) or [None])[-1]
tr = rows[rows["round"] == trend_round][["leaving_year", "positive_pct", "neet_pct", "not_known_pct"]]
tr = tr.sort_values("leaving_year")
if not tr.empty and tr["positive_pct"].notna().any():
    long = tr.rename(columns={"positive_pct": "Trust / academy"})[["leaving_year", "Trust / academy"]]
    nat_series = []
    for y in long["leaving_year"]:
        n = pick(bm, "positive_pct", key_stage=f["ks"], leaving_year=y, sources=DEST_SOURCES.get(f["ks"]))
        nat_series.append(n.value if n and n.leaving_year == y else None)
    long["England"] = nat_series
    long = long.melt(id_vars="leaving_year", var_name="series", value_name="positive_pct").dropna()
    last = tr.dropna(subset=["positive_pct"]).iloc[-1]
    first = tr.dropna(subset=["positive_pct"]).iloc[0]
    change = float(last["positive_pct"]) - float(first["positive_pct"])
    title = (f"Positive destinations ({trend_round}) {'rose' if change > 0 else 'fell' if change < 0 else 'held'}"
             f" from {first['positive_pct']:.1f}% ({first['leaving_year']}) to "
             f"{last['positive_pct']:.1f}% ({last['leaving_year']})") if len(tr) > 1 else \
        f"Positive destinations ({trend_round}): {last['positive_pct']:.1f}% in {last['leaving_year']}"
    st.plotly_chart(charts.trend(long, "leaving_year", "positive_pct", title, color="series"),
                    key="trend_positive")
    ui.caveat("England line shown only for years DfE has published. " + ui.BENCHMARK_CAVEAT)
else:
    st.caption("No trend yet: needs actual-destination rounds in more than one year.")

st.subheader("Headline figures, every year and round")
cols = ["leaving_year", "round", "key_stage", "cohort", "positive_pct", "education_pct",
        "apprenticeship_pct", "employment_pct", "training_pct", "neet_pct", "not_known_pct"]
ui.table(rows.sort_values(["leaving_year", "round"]), dm.published, f"headline_{f['academy']}",
         key="headline", columns=cols)
