"""Overview: the latest actual destinations against England and the LA, and the trends."""
import pandas as pd
import streamlit as st

from dashboards.lib import charts, ui
from pipelines.lib import serving_contract as contract

ctx = ui.page("Overview", "trust_admin", "director", "academy",
              caption="Where leavers went, NEET and not known, against England and the local "
                      "authority, with the trend over the years.")
dm = ctx.load("destination_measures")
if not dm.ok:
    ui.not_published("Destination measures", dm)
    st.stop()
f = ui.standard_filters(ctx, dm.frame)
ui.period_notice(dm.frame, f)
nn = ctx.load("neet_not_known")
nat = ctx.load("benchmark_national_comparison")
who = ctx.academy_label(f["academy"])
is_trust = f["academy"] in (None, ui.TRUST)


def total(frame: pd.DataFrame | None, **eq) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame()
    out = ui.total_rows(ui.select_academy(frame, f["academy"]))
    for k, v in eq.items():
        out = out[out[k] == v]
    return out


row = total(dm.frame, leaving_year=f["year"], round=f["round"], key_stage=f["ks"])
actual = ui.round_kind(f["round"]) == "actual"
st.subheader(f"{who}: leavers of {f['year']}, {f['ks']}, {ui.round_label(f['round'])}")
if row.empty:
    ui.empty(f"No destination return for {who} in {f['year']} {f['round']} yet: the academy may not "
             "have sent it. The return status page shows which returns have arrived.")
else:
    c = st.columns(4)
    c[0].metric("Leavers in cohort", ui.cell(row, "cohort"))
    pos = nat.frame if nat.ok else None
    n_row = total(pos, leaving_year=f["year"], round=f["round"], key_stage=f["ks"], measure="positive_pct") \
        if pos is not None else pd.DataFrame()
    delta = None
    if len(n_row) and ui.value(n_row, "national_value") is not None:
        r0 = n_row.iloc[0]
        delta = (f"England {contract.fmt_number(r0['national_value'], 'pct')}% "
                 f"({contract.benchmark_period(r0['benchmark_leaving_year'])})")
    c[1].metric(contract.measure_labels()["positive"], ui.cell(row, "positive_pct", suffix="%"))
    if delta:
        c[1].caption(delta)
    if actual and nn.ok:
        nrow = total(nn.frame, leaving_year=f["year"], round=f["round"], key_stage=f["ks"])
        la_label, la_val = None, None
        if is_trust:
            la = ui.trust_la_comparator(ctx, f["year"], f["ks"])
            if la:
                la_label, la_val = la["comparator_label"], la["la_neet_pct"]
        elif len(nrow):
            la_label, la_val = nrow["la_name"].iloc[0], nrow["la_neet_pct"].iloc[0]
        eng = nrow["england_neet_pct"].iloc[0] if len(nrow) else None
        yr = nrow["england_comparator_leaving_year"].iloc[0] if len(nrow) else None
        parts = []
        if la_val is not None and pd.notna(la_val):
            parts.append(f"{la_label} {contract.fmt_number(la_val, 'pct')}%")
        if eng is not None and pd.notna(eng):
            parts.append(f"England {contract.fmt_number(eng, 'pct')}% ({contract.benchmark_period(yr)})")
        c[2].metric(contract.measure_labels(short=True)["neet"], ui.cell(nrow, "neet_pct", suffix="%"))
        for part in parts:
            c[2].caption(part)
        c[3].metric(contract.measure_labels(short=True)["not_known"], ui.cell(nrow, "not_known_pct", suffix="%"))
        st.caption("NEET and not known are shares of leavers excluding custody (codes 710/720), as NCCIS "
                   "counts them. LA and England: NCCIS 16-17 year olds" +
                   (", the trust's LAs averaged by the number of leavers from each" if is_trust else "") +
                   ". " + ui.BENCHMARK_CAVEAT)
    else:
        c[2].metric("Undecided", ui.cell(row, "undecided_pct", suffix="%"))
        c[3].metric("Intend education", ui.cell(row, "education_pct", suffix="%"))
        st.caption("Intended destinations are not compared with England: national figures are actual "
                   "destinations.")

# Trends: actual destinations over the years, against England.
st.subheader("Trend: actual destinations by leaving year")
acts = total(dm.frame, key_stage=f["ks"])
acts = acts[acts["round_kind"] == "actual"].sort_values("leaving_year")
if len(acts) and acts["positive_pct"].notna().any():
    eet = pd.DataFrame({"leaving_year": acts["leaving_year"], "series": who, "pct": acts["positive_pct"]})
    pos = nat.frame if nat.ok else None
    if pos is not None:
        en = total(pos, key_stage=f["ks"], measure="positive_pct")
        en = en[en["same_leaving_year"].astype("boolean").fillna(False).astype(bool)]
        eet = pd.concat([eet, pd.DataFrame({"leaving_year": en["leaving_year"], "series": "England (DfE, same year)",
                                            "pct": en["national_value"]})], ignore_index=True)
    eet = eet.dropna(subset=["pct"])
    last = acts.dropna(subset=["positive_pct"]).iloc[-1]
    first = acts.dropna(subset=["positive_pct"]).iloc[0]
    ui.chart(charts.trend(eet, "leaving_year", "pct",
                          f"{who}: {contract.fmt_number(first['positive_pct'], 'pct')}% in education, employment "
                          f"or training ({first['leaving_year']}) to {contract.fmt_number(last['positive_pct'], 'pct')}%"
                          f" ({last['leaving_year']})", color="series"), "trend_eet")
    if nn.ok:
        nt = total(nn.frame, key_stage=f["ks"]).sort_values("leaving_year")
        series = [pd.DataFrame({"leaving_year": nt["leaving_year"], "series": who, "pct": nt["neet_pct"]})]
        eng = nt.drop_duplicates("leaving_year")
        series.append(pd.DataFrame({"leaving_year": eng["leaving_year"], "series": "England (NCCIS 16-17)",
                                    "pct": eng["england_neet_pct"]}))
        if is_trust:
            la = ctx.load("neet_la_comparator")
            if la.ok:
                lt = la.frame[la.frame["key_stage"] == f["ks"]].sort_values("leaving_year")
                series.append(pd.DataFrame({"leaving_year": lt["leaving_year"],
                                            "series": "LA average (pupil-weighted)", "pct": lt["la_neet_pct"]}))
        elif nt["la_name"].notna().any():
            series.append(pd.DataFrame({"leaving_year": nt["leaving_year"],
                                        "series": f"LA: {nt['la_name'].dropna().iloc[0]}",
                                        "pct": nt["la_neet_pct"]}))
        long = pd.concat(series, ignore_index=True).dropna(subset=["pct"])
        if len(long):
            ui.chart(charts.trend(long, "leaving_year", "pct",
                                  f"NEET: {who} against England and the LA, by leaving year", color="series"),
                     "trend_neet")
    ui.caveat("withheld (c) years are left out of the lines. England EET: DfE sustained destinations, only "
              "for years DfE has published. England and LA NEET: NCCIS 16-17 year olds, the latest period up "
              "to each leaving year. " + ui.BENCHMARK_CAVEAT)
else:
    ui.empty("No actual destinations for this selection yet, so there is no trend to draw.")

st.subheader("Headline figures, every year and round")
rows = total(dm.frame, key_stage=f["ks"]).sort_values(["leaving_year", "round"])
ui.table(rows, dm.published, f"headline_{f['academy']}", key="headline",
         columns=["leaving_year", "round", "key_stage", "cohort", "positive_pct", "education_pct",
                  "apprenticeship_pct", "employment_pct", "training_pct", "undecided_pct"])
st.caption("NEET and not known by year are on the NEET page (custody excluded from the denominator).")
