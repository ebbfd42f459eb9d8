"""NEET and not known by academy and sub-group, against the LA and England."""
import pandas as pd
import streamlit as st

from dashboards.lib import charts, ui
from pipelines.lib import serving_contract as contract

ctx = ui.page("NEET and not known", "trust_admin", "director", "academy",
              caption="Share of leavers not in education, employment or training (NEET), and whose "
                      "activity is not known, in the actual-destination round (custody excluded from "
                      "the denominator, as NCCIS counts it), against their local authority and England.")
nn = ctx.load("neet_not_known")
if not nn.ok:
    ui.not_published("NEET and not known", nn)
    st.stop()
src = nn.frame
if src.empty:
    ui.empty("No actual-destination round has been returned yet: NEET is measured in the autumn after leaving.")
    st.stop()
f = ui.standard_filters(ctx, src.assign(round_kind="actual"), topic=True)
ui.period_notice(src.assign(round_kind="actual"), f)
rows = ui.label_academies(ctx, ui.total_rows(ui.apply(src, f, academy=False)))
trust_la = ui.trust_la_comparator(ctx, f["year"], f["ks"])

if rows.empty:
    ui.empty(f"No NEET figures for {f['year']} {f['round']} {f['ks']}: no actual-destination return yet.")
else:
    rows = rows.copy()
    rows["la_comparator"] = rows["la_name"]
    is_trust = rows["level"] == "trust"
    if trust_la:  # the trust row: its academies' LAs weighted by leavers, labelled as such
        rows.loc[is_trust, "la_comparator"] = trust_la["comparator_label"]
        rows.loc[is_trust, "la_neet_pct"] = trust_la["la_neet_pct"]
        rows.loc[is_trust, "la_not_known_pct"] = trust_la["la_not_known_pct"]
    else:
        rows.loc[is_trust, ["la_comparator", "la_neet_pct", "la_not_known_pct"]] = [None, None, None]
    rows["england_year"] = rows["england_comparator_leaving_year"].map(contract.benchmark_period)
    plot = rows.dropna(subset=["neet_pct"])
    long = plot.melt(id_vars="academy", value_vars=["neet_pct", "not_known_pct"], var_name="measure",
                     value_name="pct")
    long["measure"] = long["measure"].str.removesuffix("_pct").map(contract.measure_labels(short=True))
    focus = ui.select_academy(rows, f["academy"])
    eng_v = float(rows["england_neet_pct"].dropna().iloc[0]) if rows["england_neet_pct"].notna().any() else None
    title = "NEET and not known by academy"
    if len(focus) and ui.value(focus, "neet_pct") is not None:
        v = ui.value(focus, "neet_pct")
        title = f"{focus['academy'].iloc[0]}: NEET {v:.1f}%"
        la_v = focus["la_neet_pct"].iloc[0]
        if pd.notna(la_v):
            title += f"; {focus['la_comparator'].iloc[0]} {float(la_v):.1f}%"
        if eng_v is not None:
            title += f"; England {eng_v:.1f}%"
    ui.chart(charts.bars(long, "pct", "academy", title, color="measure", orientation="h",
                         ref=eng_v, ref_label="England NEET" if eng_v is not None else ""), "neet_bars")
    yr = rows["england_comparator_leaving_year"].dropna()
    ui.caveat((f"England and LA: NCCIS 16-17 year olds, {contract.benchmark_period(yr.iloc[0])} (the latest "
               "published up to this leaving year). " if len(yr) else "No England figure loaded yet. ") +
              "Each academy is set against its own local authority; the trust against its academies' local "
              "authorities, weighted by the number of leavers from each" +
              (f" ({trust_la['la_names']})" if trust_la else "") + ". " + ui.BENCHMARK_CAVEAT)
    ui.table(rows, nn.published, f"neet_{f['year']}", key="neet_table",
             columns=["academy", "neet_denominator", "neet", "neet_pct", "not_known", "not_known_pct",
                      "la_comparator", "la_neet_pct", "la_not_known_pct", "england_neet_pct", "england_year"])

st.subheader(f"By {f.get('topic', 'Total').lower()}: {ctx.academy_label(f['academy'])}")
sub = ui.apply(src, f)
sub = sub[sub["breakdown_topic"] == f.get("topic", "Total")]
ui.table(sub, nn.published, f"neet_by_{f.get('topic', 'Total')}", key="neet_sub",
         columns=["breakdown", "neet_denominator", "neet", "neet_pct", "not_known", "not_known_pct"])

# England NEET trend (NCCIS), with the trust's own line
st.subheader("NEET over the years")
tr = ui.total_rows(ui.select_academy(src, f["academy"]))
tr = tr[tr["key_stage"] == f["ks"]].sort_values("leaving_year")
series = [pd.DataFrame({"leaving_year": tr["leaving_year"], "series": ctx.academy_label(f["academy"]),
                        "pct": tr["neet_pct"]}),
          pd.DataFrame({"leaving_year": tr["leaving_year"], "series": "England (NCCIS 16-17)",
                        "pct": tr["england_neet_pct"]})]
la_all = ctx.load("neet_la_comparator")
if f["academy"] in (None, ui.TRUST) and la_all.ok:
    lt = la_all.frame[la_all.frame["key_stage"] == f["ks"]]
    series.append(pd.DataFrame({"leaving_year": lt["leaving_year"], "series": "LA average (pupil-weighted)",
                                "pct": lt["la_neet_pct"]}))
elif len(tr) and tr["la_name"].notna().any():
    series.append(pd.DataFrame({"leaving_year": tr["leaving_year"], "series": f"LA: {tr['la_name'].dropna().iloc[0]}",
                                "pct": tr["la_neet_pct"]}))
long = pd.concat(series, ignore_index=True).dropna(subset=["pct"])
if len(long):
    ui.chart(charts.trend(long, "leaving_year", "pct", "NEET by leaving year against England and the LA",
                          color="series"), "neet_trend")
eng = ui.england_neet(ctx)
if len(eng):
    with st.expander("England NEET by NCCIS period (published)"):
        ui.table(eng.rename(columns={"value": "neet_pct"}), True, "england_neet_trend", key="eng_trend",
                 columns=["period", "neet_pct", "publication"])

rr = ctx.load("neet_risk_rates")
if rr.ok:
    st.subheader("Current pupils flagged at risk of NEET")
    r = ui.label_academies(ctx, ui.apply(rr.frame, {k: v for k, v in f.items() if k != "year"},
                                         academy=False, round_=False))
    ui.table(r, rr.published, "neet_risk_rates", key="risk_rates",
             columns=["academy", "leaving_year", "key_stage", "breakdown_topic", "breakdown", "pupils", "flagged",
                      "flagged_pct"])
