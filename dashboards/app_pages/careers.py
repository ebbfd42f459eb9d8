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
    return ui.choose("Academy", opts, "f_academy" if key == "fsq" else f"f_academy_{key}", ui.TRUST if ctx.user.role != "academy" else None,
                     fmt=ctx.academy_label, where=st, qp="academy") if opts else None


with tab_fsq:
    fsq = ctx.load("fsq_construct_scores")
    if not fsq.ok:
        ui.not_published("FSQ construct scores", fsq)
    else:
        fr = fsq.frame
        ycol = "academic_year"
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
        con, val = "construct_label", "positive_pct"
        plot = sel.dropna(subset=[val]) if val else sel.iloc[0:0]
        if con and val and len(plot):
            yg = max(plot["year_group"].dropna().unique(), key=lambda y: int(y) if str(y).isdigit() else -1)
            g = plot[plot["year_group"] == yg].sort_values(val)
            ui.chart(charts.bars(g, val, con,
                                        f"Year {yg}: strongest {g.iloc[-1][con]} ({g.iloc[-1][val]:.0f}% positive); "
                                        f"weakest: {g.iloc[0][con]} ({g.iloc[0][val]:.0f}%)",
                                        orientation="h"), "fsq_chart")
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
        name, ycol = "benchmark_name", "academic_year"
        acad = academy_pick(fr, "compass")
        nat_all = ctx.load("compass_trust_vs_national")
        if acad in (None, ui.TRUST) and nat_all.ok:  # the trust: the mart's mean across academies
            n = nat_all.frame[(nat_all.frame["measure"] == "mean_percent_achieved") & (nat_all.frame["benchmark"] > 0)]
            t = n.rename(columns={"trust_value": "percent_achieved"})
            names = dict(zip(fr["benchmark"], fr[name]))
            t = t.assign(**{name: t["benchmark"].map(names)})
            who = "trust mean across academies"
        else:
            t = ui.select_academy(fr, acad)
            who = ctx.academy_label(acad)
        if len(t):
            # one line per benchmark AND framework: the 2018 and 2025 frameworks are not joined up
            t = t.assign(series="B" + t["benchmark"].astype(str) + " " + t[name].astype(str)
                         + " (" + t["framework_version"].astype(str) + ")").sort_values(ycol)
            last = t[t[ycol] == t[ycol].max()].dropna(subset=["percent_achieved"]).sort_values("percent_achieved")
            title = (f"{who}: weakest in {last[ycol].iloc[0]} is {last['series'].iloc[0]} "
                     f"({last['percent_achieved'].iloc[0]:.0f}% achieved)") if len(last) else who
            ui.chart(charts.trend(t, ycol, "percent_achieved", title, color="series", y_title="% achieved"),
                     "compass_chart")
        ui.caveat("the Gatsby benchmarks were refreshed in September 2025: scores on the 2025 framework "
                  "are not directly comparable with 2018-framework scores (see framework_version and "
                  "comparable_with_previous).")
        fr = ui.select_academy(fr, acad) if acad not in (None, ui.TRUST) else fr
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
