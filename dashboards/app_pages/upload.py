"""Upload a destination return: the same validation and feedback as `destinations submit`."""
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboards.lib import data, ui
from pipelines.config import leaving_year_label, round_ids

ctx = ui.page("Upload a return", "trust_admin", "academy",
              caption="Send your academy's destination return (CSV or XLSX). It is checked at once; "
                      "accepted rows appear on the dashboard after the pipeline's next run.")
try:
    from pipelines.lib.returns.submit import submit_file
except ImportError:
    st.info("Uploads are not available yet: the returns validator is not installed.")
    st.stop()

# Academy users may only submit for their own URNs; the data team for any registered academy.
if ctx.user.role == "academy":
    urns = list(ctx.user.urns)
else:
    urns = sorted(data.register(ctx.serving, ctx.data_dir).get("urn", pd.Series(dtype=str)).dropna())
if not urns:
    st.warning("No academies are registered yet.")
    st.stop()
today = pd.Timestamp.today()
cur = today.year - 1 if today.month < 9 else today.year
years = [leaving_year_label(y) for y in range(cur - 3, cur + 2)]
c1, c2, c3 = st.columns(3)
urn = c1.selectbox("Academy", urns, format_func=ctx.academy_label, key="w_up_urn")
year = c2.selectbox("Leaving year", years, index=years.index(leaving_year_label(cur)), key="w_up_year")
rnd = c3.selectbox("Round", round_ids(), format_func=ui.round_label, key="w_up_round")
up = st.file_uploader("Return file", type=["csv", "xlsx"], key="w_up_file")
if st.button("Check and submit", type="primary", disabled=up is None, key="up_submit"):
    if ctx.user.role == "academy" and urn not in ctx.user.urns:  # defence in depth
        st.error("You can only submit for your own academy.")
        st.stop()
    name = Path(up.name).name
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(up.getvalue())
        try:
            out = submit_file(path, academy_urn=urn, leaving_year=year, round_id=rnd,
                              submitted_by=f"dashboard:{ctx.user.username}", data_dir=ctx.data_dir,
                              original_name=name)
        except ValueError as exc:
            st.error(f"Not submitted: {exc}")
            st.stop()
    st.session_state["up_result"] = {
        "status": out.status, "rows_total": out.rows_total, "rows_accepted": out.rows_accepted,
        "rows_rejected": out.rows_rejected, "warnings": out.warnings, "summary": out.summary_text,
        "file": name, "urn": urn, "year": year, "round": rnd,
        "report": str(out.report_path) if out.report_path else None,
        "problems": [{"severity": p.severity, "row": p.row, "column": p.column, "value": p.value,
                      "problem": p.message, "how to fix": p.fix} for p in out.problems]}

res = st.session_state.get("up_result")
if res and (ctx.user.role != "academy" or res["urn"] in ctx.user.urns):
    st.divider()
    st.subheader(f"Result for {res['file']}: {res['urn']} {res['year']} {res['round']}")
    msg = (f"{res['rows_accepted']} of {res['rows_total']} rows accepted, {res['rows_rejected']} "
           f"excluded, {res['warnings']} warnings.")
    if res["status"] == "rejected":
        st.error(f"Rejected: the file was not loaded. {msg} Fix the problems below and upload it again.")
    elif res["status"] == "accepted_with_warnings" or res["warnings"] or res["rows_rejected"]:
        st.warning(f"Accepted with problems. {msg}")
    elif res["status"] == "unchanged":
        st.info(f"Unchanged: this file is identical to one already submitted. {msg}")
    else:
        st.success(f"Accepted. {msg}")
    if res["problems"]:
        probs = pd.DataFrame(res["problems"])
        ui.table(probs, False, f"feedback_{res['urn']}_{res['year']}_{res['round']}", key="up_problems")
    with st.expander("Full feedback"):
        st.text(res["summary"])
    rp = Path(res["report"]) if res["report"] else None
    if rp and rp.is_file() and rp.resolve().is_relative_to(ctx.data_dir.resolve()):
        st.download_button("Download the feedback report", rp.read_bytes(), rp.name, key="up_report")
