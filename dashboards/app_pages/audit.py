"""Audit trail (trust data team only): who signed in, saw pupil lists, downloaded, changed users."""
import pandas as pd
import streamlit as st

from dashboards.lib import ui
from dashboards.lib.export import to_csv_bytes
from pipelines.lib.privacy import audit

ctx = ui.page("Audit trail", "trust_admin",
              caption="Every sign-in (and failed attempt), pupil-level page view, download, user "
                      "change, submission and retention run, newest first. The file is append-only "
                      "and hash-chained: a changed or deleted line is reported below.")
rows = audit.read_all(ctx.data_dir)
broken = audit.verify(ctx.data_dir)
if broken:
    st.error("The audit file has been altered: " + "; ".join(broken[:5]))
else:
    st.caption(f"Hash chain intact ({audit.audit_file(ctx.data_dir).name}).")
cols = ["at", "event", "outcome", "user", "role", "page", "mart", "rows", "name", "format", "target",
        "academy_urn", "leaving_year", "round", "detail", "method", "reason", "source"]
df = pd.DataFrame(rows)
df = df[[c for c in cols if c in df.columns]] if len(df) else pd.DataFrame(columns=cols[:6])
events = sorted(df["event"].dropna().unique()) if "event" in df else []
c1, c2 = st.columns(2)
pick = c1.multiselect("Events", events, key="w_audit_events")
who = c2.text_input("User contains", key="w_audit_user")
shown = df
if pick:
    shown = shown[shown["event"].isin(pick)]
if who and "user" in shown:
    shown = shown[shown["user"].astype("string").str.contains(who, case=False, regex=False).fillna(False)]
st.metric("Events", f"{len(shown):,}")
st.dataframe(shown, hide_index=True, width="stretch", key="audit_table")


def _export() -> bytes:  # built when clicked; the export itself is audited
    audit.record("download", user=ctx.user.username, name="audit_trail", format="csv", rows=len(shown))
    return to_csv_bytes(shown)


st.download_button("Download CSV", _export, "audit_trail.csv", "text/csv", key="audit_csv",
                   on_click="ignore")
