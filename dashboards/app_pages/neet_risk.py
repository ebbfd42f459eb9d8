"""NEET risk: current pupils at risk, with the reasons. Academy users and the data team only."""
import streamlit as st

from dashboards.lib import charts, data, ui

ctx = ui.page("NEET risk", "trust_admin", "academy",
              caption="Pupils whose latest return or profile suggests they may become NEET, with the "
                      "reasons. Personal data: use it to plan support, do not forward it.")
risk = ctx.load("neet_risk_pupils", "neet_risk", "neet_risk_list")
if not risk.ok:
    ui.not_published("NEET risk list", risk)
    st.stop()
fr = risk.frame
st.sidebar.header("Filters")
if "leaving_year" in fr:
    ys = sorted(fr["leaving_year"].dropna().unique())
    year = ui.choose("Leaving year", ys, "f_year", ui.latest_year(ys), qp="year")
    fr = fr[fr["leaving_year"] == year]
col = data.academy_col(fr)
opts = sorted(fr[col].dropna().unique()) if col else []
if ctx.user.role == "academy":
    opts = [u for u in opts if u in ctx.user.urns]
choice = ui.choose("Academy", ["__all__"] + opts, "f_risk_academy", "__all__",
                   fmt=lambda u: "All my academies" if u == "__all__" and ctx.user.role == "academy"
                   else "All academies" if u == "__all__" else ctx.academy_label(u))
if col and choice != "__all__":
    fr = fr[fr[col] == choice]
if "is_flagged" in fr:
    only = st.toggle("Flagged pupils only (score at or above the trust's threshold)", value=True,
                     key="w_risk_flagged")
    if only:
        fr = fr[fr["is_flagged"].astype("boolean").fillna(False).astype(bool)]
if "risk_score" in fr:
    fr = fr.sort_values("risk_score", ascending=False, kind="stable")
reason_col = "reasons" if "reasons" in fr else ui.find_col(fr, "reason", numeric=False)
if reason_col and len(fr):
    reasons = fr[reason_col].dropna().astype(str).str.split(r"\s*[;|]\s*").explode()
    reasons = reasons.str.replace(r"\s*\(\+?\d+(\.\d+)?\)\s*$", "", regex=True)  # drop weights
    counts = reasons.value_counts().rename_axis("reason").reset_index(name="pupils")
    if len(counts):
        top = counts.iloc[0]
        st.plotly_chart(charts.bars(counts, "pupils", "reason",
                                    f"{len(fr)} pupils at risk; most common reason: {top['reason']} "
                                    f"({top['pupils']})", orientation="h"), key="risk_reasons")
st.metric("Pupils on the list", f"{len(fr):,}")
cols = ["academy", "upn", "year_group", "key_stage", "intended_round", "intended_group", "intended_route",
        "september_guarantee", "sex_label", "disadvantage_label", "sen_provision_label",
        "is_looked_after", "risk_score", "reasons"]
shown = ui.label_academies(ctx, fr)
ui.table(shown, False, "neet_risk_list", key="risk", exclude={"risk_score"},
         columns=[c for c in cols if c in shown] or None)
