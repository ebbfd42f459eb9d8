"""Data quality and returns: per academy x round, submitted / accepted / rejected / late."""
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboards.lib import charts, data, ui

ctx = ui.page("Data quality and returns", "trust_admin", "director", "academy",
              caption="Which returns have arrived, what was accepted, and the feedback sent back.")
dq = ctx.load("return_status", "data_quality_status", "returns_status")
if not dq.ok:
    ui.not_published("Data-quality status", dq)
    st.stop()
fr = dq.frame
st.sidebar.header("Filters")
if "leaving_year" in fr:
    ys = sorted(fr["leaving_year"].dropna().astype(str).unique())
    year = ui.choose("Leaving year", ys, "f_year", ui.latest_year(ys), qp="year")
    fr = fr[fr["leaving_year"] == year]
else:
    year = None
fr = ui.label_academies(ctx, fr)
status_col = next((c for c in ("status", "return_status", "submission_status") if c in fr), None)
if status_col and "round" in fr and len(fr):
    cellv = fr[status_col].astype(str)
    if "timeliness" in fr:  # submitted (late), missing (overdue) ...
        t = fr["timeliness"].astype(str)
        cellv = cellv.where(~t.isin(["late", "overdue"]), cellv + " (" + t + ")")
    elif "late" in fr:
        cellv = cellv.where(~fr["late"].astype("boolean").fillna(False).astype(bool), cellv + " (late)")
    grid = fr.assign(_cell=cellv).pivot_table(index="academy", columns="round", values="_cell",
                                              aggfunc="last")
    grid = grid[ui.sort_rounds(grid.columns)]
    counts = fr[status_col].value_counts()
    late_n = int(fr["timeliness"].isin(["late", "overdue"]).sum()) if "timeliness" in fr else 0
    title = (", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items()) +
             f" returns for {year or 'all years'}" + (f"; {late_n} late or overdue" if late_n else ""))
    cnt = fr.groupby(["round", status_col], as_index=False).size()
    st.plotly_chart(charts.bars(cnt, "round", "size", title, color=status_col, barmode="stack"),
                    key="dq_chart")
    st.subheader("Status by academy and round")
    ui.table(grid.reset_index(), False, f"return_status_grid_{year}", key="dq_grid")
st.subheader("Every return")
ui.table(fr, dq.published, f"data_quality_{year}", key="dq_all")
probs = ctx.load("return_problem_summary")
if probs.ok:
    p = ui.label_academies(ctx, probs.frame)
    if year and "leaving_year" in p:
        p = p[p["leaving_year"] == year]
    st.subheader("Most common problems in returns")
    ui.table(p, probs.published, f"return_problems_{year}", key="dq_problems")

# Feedback reports name pupils' rows: the owning academy and the data team only.
rep_col = next((c for c in ("feedback_path", "feedback_report_path", "feedback_report") if c in fr), None) \
    or ui.find_col(fr, "report", numeric=False) or ui.find_col(fr, "feedback", numeric=False)
if rep_col and ctx.user.role in ("trust_admin", "academy"):
    st.subheader("Feedback reports")
    root = ctx.data_dir.resolve()
    col = data.academy_col(fr)
    avail = fr.dropna(subset=[rep_col])
    if ctx.user.role == "academy" and col:
        avail = avail[avail[col].isin(ctx.user.urns)]
    keys = [f"{r['academy']} {r.get('round', '')}".strip() for _, r in avail.iterrows()]
    if keys:
        pick = st.selectbox("Report", range(len(keys)), format_func=lambda i: keys[i], key="w_dq_report")
        raw = Path(str(avail.iloc[pick][rep_col]))
        p = (raw if raw.is_absolute() else root / raw).resolve()
        if p.is_relative_to(root) and p.is_file():
            st.download_button("Download feedback report", p.read_bytes(), p.name, key="dq_report_dl")
            if p.suffix in (".txt", ".md", ".csv") and p.stat().st_size < 200_000:
                with st.expander("Show the report"):
                    st.code(p.read_text(encoding="utf-8", errors="replace"), language=None)
        else:
            st.caption("That feedback report is not on disk any more.")
    else:
        st.caption("No feedback reports yet.")
elif rep_col:
    st.caption("Feedback reports list pupils' rows, so only the academy and the data team can open them.")
