"""Data quality and returns: per academy x round, in plain English, with the feedback sent back."""
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboards.lib import charts, data, ui

ctx = ui.page("Data quality and returns", "trust_admin", "director", "academy",
              caption="Which returns have arrived, what was accepted, and the feedback sent back. Academies "
                      "are expected to return a round only for leavers who started the year in the trust.")
STATUS = {"submitted": "Received", "rejected_only": "Sent but rejected: please fix and resend",
          "missing": "Not received", "not_due": "Not due yet"}
TIMELINESS = {"on_time": "on time", "late": "late", "overdue": "overdue", "not_due": ""}

dq = ctx.load("return_status")
if not dq.ok:
    ui.not_published("Return status", dq)
    st.stop()
fr = dq.frame
st.sidebar.header("Filters")
ys = sorted(fr["leaving_year"].dropna().astype(str).unique())
year = ui.choose("Leaving year", ys, "f_year", ui.latest_year(ys), qp="year")
fr = ui.label_academies(ctx, fr[fr["leaving_year"] == year])


def plain(r) -> str:
    s = STATUS.get(r["return_status"], str(r["return_status"]).replace("_", " "))
    t = TIMELINESS.get(r["timeliness"], str(r["timeliness"] or ""))
    if r["timeliness"] == "overdue" and pd.notna(r["days_overdue"]):
        t = f"overdue by {int(r['days_overdue'])} days"
    return f"{s} ({t})" if t else s


# Uploaded since the snapshot was published: received, being processed.
pending = []
if ctx.user.role in ("trust_admin", "academy"):
    from pipelines.config import paths
    as_of = pd.to_datetime(fr["as_of"]).max() if "as_of" in fr and fr["as_of"].notna().any() else None
    published = data.published_at(ctx.serving)
    cut = pd.Timestamp(published) if published else as_of
    if cut is not None and cut.tzinfo is not None:
        cut = cut.tz_convert(None)
    for u in (ctx.user.urns if ctx.user.role == "academy" else sorted(fr["academy_urn"].dropna().unique())):
        part = paths(ctx.data_dir).returns / u
        for f in part.glob("*/*/*") if part.is_dir() else []:
            mtime = pd.Timestamp(f.stat().st_mtime, unit="s")
            if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in (".csv", ".xlsx") and \
                    (cut is None or mtime > cut):
                pending.append({"academy": ctx.academy_label(u), "leaving_year": f.parent.parent.name,
                                "round": f.parent.name, "file": f.name,
                                "received": mtime.strftime("%Y-%m-%d %H:%M")})
if pending:
    st.warning(f"{len(pending)} file(s) received and being processed: the status below updates when the "
               "pipeline has loaded them (the sensor picks new files up within about a minute).")
    st.dataframe(pd.DataFrame(pending), hide_index=True, width="stretch", key="df_pending")

if fr.empty:
    ui.empty(f"No returns are expected for {year} yet.")
    st.stop()
fr = fr.assign(status=[plain(r) for r in fr.to_dict("records")])
grid = fr.pivot_table(index="academy", columns="round", values="status", aggfunc="last")
grid = grid[ui.sort_rounds(grid.columns)]
counts = fr["return_status"].map(lambda s: STATUS.get(s, s).split(":")[0]).value_counts()
late_n = int(fr["timeliness"].isin(["late", "overdue"]).sum())
title = (", ".join(f"{n} {s.lower()}" for s, n in counts.items()) +
         f" returns for {year}" + (f"; {late_n} late or overdue" if late_n else ""))
cnt = fr.assign(status_group=fr["return_status"].map(lambda s: STATUS.get(s, s).split(":")[0])) \
    .groupby(["round", "status_group"], as_index=False).size().rename(columns={"size": "returns"})
ui.chart(charts.bars(cnt, "round", "returns", title, color="status_group", barmode="stack"), "dq_chart")
st.subheader("Status by academy and round")
ui.table(grid.reset_index(), False, f"return_status_grid_{year}", key="dq_grid")
st.subheader("Every return")
cols = ["academy", "round", "status", "due_date", "first_accepted_at", "last_submitted_at"]
if ctx.user.role != "director":  # row counts per return sit beside published cohorts: not for directors
    cols += ["rows_total", "rows_accepted", "rows_rejected", "warnings"]
ui.table(fr, dq.published, f"data_quality_{year}", key="dq_all", columns=cols)
probs = ctx.load("return_problem_summary")
if probs.ok:
    p = ui.label_academies(ctx, probs.frame)
    p = p[(p["leaving_year"] == year) & p["is_current"].astype("boolean").fillna(False).astype(bool)]
    st.subheader("Most common problems in current returns")
    ui.table(p, probs.published, f"return_problems_{year}", key="dq_problems",
             columns=["academy", "round", "severity", "rule", "problems", "rows_affected", "example_message",
                      "how_to_fix"])

# Feedback reports name pupils' rows: the owning academy and the data team only.
if ctx.user.role in ("trust_admin", "academy"):
    st.subheader("Feedback reports")
    root = ctx.data_dir.resolve()
    avail = fr.dropna(subset=["feedback_path"])
    if ctx.user.role == "academy":
        avail = avail[avail["academy_urn"].isin(ctx.user.urns)]
    keys = [f"{r['academy']} {r['round']}" for _, r in avail.iterrows()]
    if keys:
        pick = st.selectbox("Report", range(len(keys)), format_func=lambda i: keys[i], key="w_dq_report")
        raw = Path(str(avail.iloc[pick]["feedback_path"]))
        fp = (raw if raw.is_absolute() else root / raw).resolve()
        if fp.is_relative_to(root) and fp.is_file():
            st.download_button("Download feedback report", fp.read_bytes(), fp.name, key="dq_report_dl")
            if fp.suffix in (".txt", ".md", ".csv") and fp.stat().st_size < 200_000:
                with st.expander("Show the report"):
                    st.code(fp.read_text(encoding="utf-8", errors="replace"), language=None)
        else:
            st.caption("That feedback report is not on disk any more.")
    elif pending:
        st.caption("Feedback for the files just received appears here once they are processed.")
    else:
        st.caption("No feedback reports for this year yet: they are written when a return is uploaded.")
else:
    st.caption("Feedback reports list pupils' rows, so only the academy and the data team can open them.")
