"""Future Skills Questionnaire construct scores and Compass (Gatsby benchmark) trends."""
import streamlit as st

from dashboards.lib import charts, ui

ctx = ui.page("Future skills and Compass", "trust_admin", "director", "academy")
tab_fsq, tab_compass = st.tabs(["Future Skills Questionnaire", "Compass (Gatsby benchmarks)"])

with tab_fsq:
    fsq = ctx.load("fsq_construct_scores", "fsq_scores", "fsq_constructs")
    if not fsq.ok:
        ui.not_published("FSQ construct scores", fsq)
    else:
        fr = ui.label_academies(ctx, fsq.frame)
        con = ui.find_col(fr, "construct", numeric=False)
        val = next((c for c in ("positive_pct", "score_pct", "mean_score", "score") if c in fr), None) \
            or ui.find_col(fr, "pct", numeric=True)
        if "leaving_year" in fr or "survey_year" in fr:
            ycol = "leaving_year" if "leaving_year" in fr else "survey_year"
            latest = ui.latest_year(list(fr[ycol].dropna().astype(str).unique())) or fr[ycol].max()
            cur = fr[fr[ycol].astype(str) == str(latest)]
        else:
            cur = fr
        if con and val and len(cur.dropna(subset=[val])):
            g = cur.dropna(subset=[val]).groupby(con, as_index=False)[val].mean().sort_values(val)
            st.plotly_chart(charts.bars(g, val, con, f"Strongest: {g.iloc[-1][con]} ({g.iloc[-1][val]:.0f}); "
                                        f"weakest: {g.iloc[0][con]} ({g.iloc[0][val]:.0f})",
                                        orientation="h"), key="fsq_chart")
        ui.table(fr, fsq.published, "fsq_construct_scores", key="fsq")

with tab_compass:
    cp = ctx.load("compass_benchmark_trends", "compass_trends", "compass_scores")
    if not cp.ok:
        ui.not_published("Compass benchmark trends", cp)
    else:
        fr = ui.label_academies(ctx, cp.frame)
        bcol = ui.find_col(fr, "benchmark", numeric=None)
        val = next((c for c in ("percent_achieved", "mean_percent_achieved", "achieved_pct") if c in fr), None) \
            or ui.find_col(fr, "pct", numeric=True)
        dcol = next((c for c in ("evaluation_date", "academic_year", "evaluation_year", "period") if c in fr), None)
        if bcol and val and dcol and len(fr):
            t = fr.dropna(subset=[val]).groupby([dcol, bcol], as_index=False)[val].mean()
            t[bcol] = "Benchmark " + t[bcol].astype(str)
            last = t[t[dcol] == t[dcol].max()]
            title = (f"Latest: lowest benchmark {last.sort_values(val).iloc[0][bcol]} "
                     f"({last.sort_values(val).iloc[0][val]:.0f}% achieved)") if len(last) else "Compass"
            st.plotly_chart(charts.trend(t, dcol, val, title, color=bcol, y_title="% achieved"),
                            key="compass_chart")
        ui.caveat("the Gatsby benchmarks were refreshed in September 2025: scores on the 2025 framework "
                  "are not directly comparable with 2018-framework scores.")
        ui.table(fr, cp.published, "compass_benchmark_trends", key="compass")
