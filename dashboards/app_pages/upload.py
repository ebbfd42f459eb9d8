"""Upload a destination return: the same validation and feedback as `destinations submit`."""
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboards.lib import data, ui
from pipelines.config import leaving_year_label, round_ids

ctx = ui.page("Upload a return", "trust_admin", "academy",
              caption="Send your academy's destination return (CSV or XLSX). It is checked at once; "
                      "accepted rows appear on the dashboard when the pipeline has loaded them.")


@st.cache_data(show_spinner=False)
def template_bytes(rows: int = 2000) -> bytes:
    """The return template (i14's writer) with drop-downs valid for `rows` leavers."""
    from pipelines.lib.returns.template import write_template
    with tempfile.TemporaryDirectory() as tmp:
        return write_template(Path(tmp) / "template.xlsx", rows=rows).read_bytes()


def code_meanings() -> pd.DataFrame:
    """Every coded column's codes and what they mean, from the dbt seeds (the one code list)."""
    from pipelines.config import SEEDS_DIR
    from pipelines.lib import serving_contract as contract
    out = [{"column": "destination_code", "code": c, "meaning": label} for c, label in contract.code_labels().items()]
    sen = pd.read_csv(SEEDS_DIR / "sen_provisions.csv", dtype=str)
    out += [{"column": "sen_provision", "code": r.sen_provision, "meaning": r.sen_provision_label}
            for r in sen.itertuples()]
    out += [{"column": "sex", "code": "F", "meaning": "Female"}, {"column": "sex", "code": "M", "meaning": "Male"}]
    out += [{"column": c, "code": "Y", "meaning": "Yes"} for c in ("disadvantaged", "fsm_eligible", "looked_after",
                                                                   "consent_follow_up")]
    out += [{"column": "september_guarantee", "code": k, "meaning": v} for k, v in {
        "offer_made": "An offer of a suitable place in education or training was made",
        "no_offer": "No offer made", "not_appropriate": "An offer was not appropriate (e.g. already in work)",
        "not_recorded": "Not recorded"}.items()]
    out += [{"column": "level", "code": k, "meaning": v} for k, v in {
        "1": "Level 1", "2": "Level 2 (GCSE equivalent)", "3": "Level 3 (A level equivalent)",
        "4+": "Level 4 or higher (higher education)"}.items()]
    return pd.DataFrame(out).rename(columns={"column": "Column", "code": "Code", "meaning": "Meaning"})


t1, t2 = st.columns([1, 3])
t1.download_button("Download the template (XLSX)", template_bytes, "destination_return_template.xlsx",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="up_template",
                   on_click="ignore", icon=":material/download:")
t2.caption("One row per leaver, drop-down lists for every coded column, valid for up to 2,000 leavers. "
           "Codes and their labels are both accepted.")
with st.expander("Codes and their meanings"):
    st.dataframe(code_meanings(), hide_index=True, width="stretch", key="df_codes", height=320)
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


def count_rows(upload) -> int | None:
    """Leaver rows in the uploaded file (header and blank rows left out), for the size check."""
    import io
    try:
        raw = upload.getvalue()
        if upload.name.lower().endswith(".xlsx"):
            frame = pd.read_excel(io.BytesIO(raw), dtype=str)
        else:
            frame = pd.read_csv(io.BytesIO(raw), dtype=str, encoding_errors="replace")
        return int(frame.dropna(how="all").shape[0])
    except Exception:  # noqa: BLE001 - the validator reports unreadable files properly
        return None


def current_rows() -> int | None:
    """Rows of the return this upload would replace (the published status of that round)."""
    rs = ctx.load("return_status")
    if not rs.ok:
        return None
    r = rs.frame[(rs.frame["academy_urn"] == urn) & (rs.frame["leaving_year"] == year) & (rs.frame["round"] == rnd)
                 & (rs.frame["return_status"] == "submitted")]
    return int(r["rows_total"].iloc[0]) if len(r) and pd.notna(r["rows_total"].iloc[0]) else None


ok_to_send = up is not None
confirmed_smaller = False  # the sender ticked "Yes, replace ...": the library's smaller-file rule is confirmed
if up is not None:
    new_n, old_n = count_rows(up), current_rows()
    if new_n is not None and old_n and new_n < 0.5 * old_n:
        st.warning(f"This file has {new_n:,} leaver rows; the return it replaces for {ctx.academy_label(urn)} "
                   f"{year} {rnd} has {old_n:,}. Sending it replaces the whole return, so the other "
                   f"{old_n - new_n:,} leavers would disappear from the figures.")
        ok_to_send = confirmed_smaller = st.checkbox(
            f"Yes, replace the {old_n:,}-row return with this {new_n:,}-row file", key="w_up_confirm_small")
if st.button("Check and submit", type="primary", disabled=not ok_to_send, key="up_submit"):
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
                              original_name=name, confirm_smaller=confirmed_smaller)
        except ValueError as exc:
            st.error(f"Not submitted: {exc}")
            st.stop()
    st.session_state["up_result"] = {
        "status": out.status, "rows_total": out.rows_total, "rows_accepted": out.rows_accepted,
        "rows_rejected": out.rows_rejected, "warnings": out.warnings, "summary": out.summary_text,
        "file": name, "urn": urn, "year": year, "round": rnd, "received": pd.Timestamp.now().strftime("%H:%M"),
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
    elif res["status"] == "unchanged":
        st.info(f"Unchanged: this file is identical to one already submitted. {msg}")
    else:
        (st.warning if res["warnings"] or res["rows_rejected"] else st.success)(
            f"Received at {res['received']}, being processed. {msg} The figures and the return status "
            "update when the pipeline has loaded it (the sensor picks new files up within about a minute).")
        ui.status_link("Follow it on the return status page")
    if res["problems"]:
        probs = pd.DataFrame(res["problems"])
        ui.table(probs, False, f"feedback_{res['urn']}_{res['year']}_{res['round']}", key="up_problems")
    with st.expander("Full feedback"):
        st.text(res["summary"])
    rp = Path(res["report"]) if res["report"] else None
    if rp and rp.is_file() and rp.resolve().is_relative_to(ctx.data_dir.resolve()):
        st.download_button("Download the feedback report", rp.read_bytes(), rp.name, key="up_report")
