"""NEET and not known by academy and sub-group, against LA and England."""
import pandas as pd
import streamlit as st

from dashboards.lib import charts, data, ui
from dashboards.lib.benchmarks import pick

ctx = ui.page("NEET and not known", "trust_admin", "director", "academy",
              caption="Share of leavers not in education, employment or training (NEET), and whose "
                      "activity is not known, in the actual-destination round (custody excluded from "
                      "the denominator), against their local authority and England.")
nn = ctx.load("neet_not_known")
if nn.ok:
    src, published = nn.frame, nn.published
else:  # older snapshots: derive from destination_measures
    dm = ctx.load("destination_measures")
    if not dm.ok:
        ui.not_published("NEET and not known", nn)
        st.stop()
    src = dm.frame[dm.frame["round_kind"] == "actual"] if "round_kind" in dm.frame else \
        dm.frame[dm.frame["round"].map(ui.round_kind) == "actual"]
    published = dm.published
if src.empty:
    st.info("No actual-destination round has been returned yet.")
    st.stop()
f = ui.standard_filters(ctx, src, topic=True)
bm = ui.benchmarks(ctx)
eng = pick(bm, "neet_pct", leaving_year=f["year"], sources=("nccis_neet",))
eng_nk = pick(bm, "not_known_pct", leaving_year=f["year"], sources=("nccis_neet",))

rows = ui.label_academies(ctx, ui.total_rows(ui.apply(src, f, academy=False)))
if "england_neet_pct" not in rows:  # fallback comparators
    reg = data.register(ctx.serving, ctx.data_dir)
    la_of = dict(zip(reg["urn"], reg["la_code"])) if "la_code" in reg else {}
    rows = rows.copy()
    rows["la_code"] = rows["academy_urn"].map(la_of)
    for m in ("neet_pct", "not_known_pct"):
        rows[f"la_{m}"] = [
            (lambda fig: fig.value if fig else None)(
                pick(bm, m, leaving_year=f["year"], geography_level="la", geography_code=la,
                     sources=("nccis_neet",))) if isinstance(la, str) else None
            for la in rows["la_code"]]
    rows["england_neet_pct"] = eng.value if eng else None
    rows["england_not_known_pct"] = eng_nk.value if eng_nk else None

cols = ["academy", "cohort", "neet_denominator", "neet", "neet_pct", "not_known", "not_known_pct",
        "la_code", "la_neet_pct", "la_not_known_pct", "england_neet_pct", "england_not_known_pct"]
if rows.empty:
    st.info("No rows for this selection.")
else:
    plot = rows.dropna(subset=["neet_pct"])
    long = plot.melt(id_vars="academy", value_vars=["neet_pct", "not_known_pct"],
                     var_name="measure", value_name="pct")
    long["measure"] = long["measure"].map({"neet_pct": "NEET", "not_known_pct": "Not known"})
    focus = ui.select_academy(rows, f["academy"])
    eng_v = float(rows["england_neet_pct"].dropna().iloc[0]) if rows["england_neet_pct"].notna().any() else None
    if len(focus) and pd.notna(focus["neet_pct"].iloc[0]):
        v = float(focus["neet_pct"].iloc[0])
        title = f"{focus['academy'].iloc[0]}: NEET {v:.1f}%" + (
            f", {charts.pp(v, eng_v)} England ({eng_v:.1f}%)" if eng_v is not None else "")
        la_v = focus["la_neet_pct"].iloc[0] if "la_neet_pct" in focus else None
        if la_v is not None and pd.notna(la_v):
            title += f"; LA {float(la_v):.1f}%"
    else:
        title = "NEET and not known by academy"
    st.plotly_chart(charts.bars(long, "pct", "academy", title, color="measure", orientation="h",
                                ref=eng_v, ref_label="England NEET" if eng_v is not None else ""),
                    key="neet_bars")
    yr = rows["england_comparator_leaving_year"].dropna() if "england_comparator_leaving_year" in rows else pd.Series(dtype=str)
    src_txt = (f"England and LA: NCCIS 16-17 NEET/not known for {yr.iloc[0]}. " if len(yr)
               else f"England: {eng.describe()}. " if eng else "No England figure loaded yet. ")
    ui.caveat(src_txt + "LA figures are for the academy's local authority (trust rows only when all "
              "academies share one LA). " + ui.BENCHMARK_CAVEAT)
    ui.table(rows, published, f"neet_{f['year']}", key="neet_table", columns=cols,
             exclude={"la_code"})

st.subheader(f"By {f.get('topic', 'Total').lower()}: {ctx.academy_label(f['academy'])}")
sub = ui.apply(src, f)
sub = sub[sub["breakdown_topic"] == f.get("topic", "Total")]
ui.table(sub, published, f"neet_by_{f.get('topic', 'Total')}", key="neet_sub",
         columns=["breakdown", "cohort", "neet_denominator", "neet", "neet_pct", "not_known",
                  "not_known_pct"])

rr = ctx.load("neet_risk_rates")
if rr.ok:
    st.subheader("Current pupils flagged at risk of NEET")
    r = ui.label_academies(ctx, ui.apply(rr.frame, {k: v for k, v in f.items() if k != "year"},
                                         academy=False, round_=False))
    ui.table(r, rr.published, "neet_risk_rates", key="risk_rates",
             columns=[c for c in ["academy", "leaving_year", "key_stage", "breakdown_topic", "breakdown",
                                  "pupils", "flagged", "flagged_pct"] if c in r])
