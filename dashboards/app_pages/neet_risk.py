"""NEET risk: current pupils at risk, with the reasons. Academy users and the data team only."""
import streamlit as st

import pandas as pd

from dashboards.lib import charts, data, ui

ctx = ui.page("NEET risk", "trust_admin", "academy",
              caption="Pupils whose latest return or profile suggests they may become NEET, with the "
                      "reasons. Personal data: use it to plan support, do not forward it.")
risk = ctx.load("neet_risk_pupils")
if not risk.ok:
    ui.not_published("NEET risk list", risk)
    st.stop()
fr = risk.frame
st.sidebar.header("Filters")
if "leaving_year" in fr:
    ys = sorted(fr["leaving_year"].dropna().unique())
    # its own key: the list's current year must not move the destinations pages off their default
    year = ui.choose("Leaving year", ys, "f_risk_year", ui.latest_year(ys), qp="year")
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
    only_flagged = st.toggle("Flagged pupils only (score at or above the trust's threshold)", value=True,
                     key="w_risk_flagged")
    if only_flagged:
        fr = fr[fr["is_flagged"].astype("boolean").fillna(False).astype(bool)]
if "risk_score" in fr:
    fr = fr.sort_values("risk_score", ascending=False, kind="stable")
if fr.empty:
    ui.empty("No pupils on the risk list for this selection. The list is built from the latest intended "
             "return: if your academy has not sent this year's return yet, nobody can be flagged.")
    st.stop()
# Reasons broken down: how many pupils carry each reason, and how many have ONLY that reason
factors = fr["reasons"].dropna().astype(str).str.split(r"\s*;\s*")
clean = factors.map(lambda xs: [x.rsplit(" (+", 1)[0] for x in xs if x])
every = clean.explode().value_counts().rename_axis("reason").reset_index(name="pupils")
alone = clean[clean.map(len) == 1].map(lambda xs: xs[0]).value_counts()
every["only_this_reason"] = every["reason"].map(alone).fillna(0).astype(int)
every = every.sort_values("pupils")
long = pd.concat([every.assign(series="with other reasons", leavers=every["pupils"] - every["only_this_reason"]),
                  every.assign(series="this reason only", leavers=every["only_this_reason"])])
top = every.iloc[-1]
ui.chart(charts.bars(long, "leavers", "reason", f"{len(fr)} pupils on the list; most common reason: {top['reason']} "
                     f"({top['pupils']}, {top['only_this_reason']} with no other reason)",
                     color="series", orientation="h", barmode="stack"), "risk_reasons")
c1, c2 = st.columns(2)
reasons = ["All reasons"] + list(every.sort_values("pupils", ascending=False)["reason"])
only = c1.selectbox("Show pupils with this reason", reasons, key="w_risk_reason")
if only != "All reasons":
    fr = fr[clean.reindex(fr.index).map(lambda xs: isinstance(xs, list) and only in xs)]
multi = c2.toggle("Only pupils with more than one reason", key="w_risk_multi")
if multi:
    fr = fr[clean.reindex(fr.index).map(lambda xs: isinstance(xs, list) and len(xs) > 1)]
st.caption("Reason weights and the flag threshold are set by the trust (config/neet_risk.yaml); the score is "
           "their sum. Pupil name: the name or admission number your academy gave in its return (optional "
           "column `pupil_name`); only your academy's staff and the trust's data team see it.")
st.metric("Pupils on the list", f"{len(fr):,}")
# who and why first (what a careers leader acts on), then the details; the academy column only
# when the list spans more than one academy
cols = ["pupil_name", "upn", "reasons", "risk_score", "intended_group", "intended_route", "september_guarantee",
        "year_group", "key_stage", "intended_round", "sex_label", "disadvantage_label", "sen_provision_label",
        "is_looked_after"]
if col and fr[col].nunique() > 1:
    cols = ["academy"] + cols
shown = ui.label_academies(ctx, fr)
ui.table(shown, False, "neet_risk_list", key="risk", exclude={"risk_score"},
         columns=[c for c in cols if c in shown] or None)
