"""Future Skills Questionnaire construct scores and Compass (Gatsby benchmark) trends."""
import pandas as pd
import streamlit as st

from dashboards.lib import charts, data, ui

ctx = ui.page("Future skills and Compass", "trust_admin", "director", "academy",
              caption="Pupils' career readiness and essential skills (FSQ), and each academy's "
                      "careers programme against the Gatsby benchmarks (Compass).")
tab_fsq, tab_compass = st.tabs(["Future Skills Questionnaire", "Compass (Gatsby benchmarks)"])


def academy_pick(frame: pd.DataFrame, key: str):
    opts = ui.academy_options(ctx, frame)
    return ui.choose("Academy", opts, "f_academy", ui.TRUST if ctx.user.role != "academy" else None,
                     fmt=ctx.academy_label, where=st, qp="academy") if opts else None


with tab_fsq:
    fsq = ctx.load("fsq_construct_scores")
    if not fsq.ok:
        ui.not_published("FSQ construct scores", fsq)
    else:
        fr = fsq.frame
        ycol = next((c for c in ("academic_year", "leaving_year", "survey_year") if c in fr), None)
        c1, c2 = st.columns(2)
        with c1:
            acad = academy_pick(fr, "fsq")
        with c2:
            years = sorted(fr[ycol].dropna().astype(str).unique()) if ycol else []
            year = ui.choose("Academic year", years, "f_fsq_year", years[-1] if years else None,
                             where=st) if years else None
        sel = ui.select_academy(fr, acad)
        if year:
            sel = sel[sel[ycol].astype(str) == year]
        if "breakdown_topic" in sel:
            sel = sel[sel["breakdown_topic"] == "Total"]
        if "survey_round_order" in sel and len(sel):  # latest survey round of the year
            sel = sel[sel["survey_round_order"] == sel["survey_round_order"].max()]
        con = "construct_label" if "construct_label" in sel else ui.find_col(sel, "construct", numeric=False)
        val = "positive_pct" if "positive_pct" in sel else ui.find_col(sel, "pct", numeric=True)
        plot = sel.dropna(subset=[val]) if val else sel.iloc[0:0]
        if con and val and len(plot):
            g = plot.groupby(con, as_index=False)[val].mean().sort_values(val)
            st.plotly_chart(charts.bars(g, val, con,
                                        f"Strongest: {g.iloc[-1][con]} ({g.iloc[-1][val]:.0f}% positive); "
                                        f"weakest: {g.iloc[0][con]} ({g.iloc[0][val]:.0f}%)",
                                        orientation="h"), key="fsq_chart")
        elif len(sel):
            st.caption("Scores for this selection are suppressed (too few pupils answered).")
        ui.table(sel, fsq.published, "fsq_construct_scores", key="fsq",
                 columns=[c for c in ["survey_round", "year_group", "construct_group", con,
                                      "pupils_responding", "completion_pct", "pupils_answering",
                                      "positive_pct"] if c])

with tab_compass:
    cp = ctx.load("compass_benchmark_trends")
    if not cp.ok:
        ui.not_published("Compass benchmark trends", cp)
    else:
        fr = ui.label_academies(ctx, cp.frame)
        if "is_latest_in_academic_year" in fr:
            fr = fr[fr["is_latest_in_academic_year"].astype("boolean").fillna(False).astype(bool)]
        name = "benchmark_name" if "benchmark_name" in fr else "benchmark"
        ycol = "academic_year" if "academic_year" in fr else "evaluation_date"
        if "percent_achieved" in fr and len(fr):
            t = fr.groupby([ycol, "benchmark", name], as_index=False)["percent_achieved"].mean()
            t["series"] = "B" + t["benchmark"].astype(str) + " " + t[name].astype(str)
            last = t[t[ycol] == t[ycol].max()].sort_values("percent_achieved")
            who = "academies" if data.academy_col(fr) and fr[data.academy_col(fr)].nunique() > 1 else "academy"
            title = (f"{last[ycol].iloc[0]}: weakest benchmark {last['series'].iloc[0]} "
                     f"({last['percent_achieved'].iloc[0]:.0f}% achieved, mean across {who})")
            st.plotly_chart(charts.trend(t, ycol, "percent_achieved", title, color="series",
                                         y_title="% achieved"), key="compass_chart")
        ui.caveat("the Gatsby benchmarks were refreshed in September 2025: scores on the 2025 framework "
                  "are not directly comparable with 2018-framework scores (see framework_version and "
                  "comparable_with_previous).")
        ui.table(fr, cp.published, "compass_benchmark_trends", key="compass",
                 columns=[c for c in ["academy", "academic_year", "evaluation_date", "framework_version",
                                      "benchmark", name, "percent_achieved", "change_since_previous",
                                      "comparable_with_previous"] if c in fr])
    nat = ctx.load("compass_trust_vs_national")
    if nat.ok and len(nat.frame):
        st.subheader("Trust against national")
        n = nat.frame
        ui.table(n, nat.published, "compass_trust_vs_national", key="compass_nat")
        if "national_source" in n and n["national_source"].notna().any():
            ui.caveat("national: " + "; ".join(sorted(n["national_source"].dropna().astype(str).unique())) +
                      ". National Compass figures cover all schools that completed Compass; "
                      "comparable only within the same framework version.")
