"""Trustee report: download the annual pack when the pipeline has written it."""
import streamlit as st

from dashboards.lib import ui
from pipelines.config import paths

ctx = ui.page("Trustee report", "trust_admin", "director",
              caption="The annual trustee pack (published, suppressed figures only).")
reports = paths(ctx.data_dir).reports
files = sorted([p for p in reports.rglob("*") if p.is_file() and not p.name.startswith(".")
                and p.suffix.lower() in (".pdf", ".xlsx", ".html", ".md", ".csv", ".docx", ".zip")],
               key=lambda p: p.stat().st_mtime, reverse=True) if reports.is_dir() else []
if not files:
    ui.not_published("The trustee report")
    st.caption("The data team writes it with `destinations report --year YYYY-YY --out <data dir>/reports`.")
    st.stop()
for i, p in enumerate(files):
    rel = p.relative_to(reports)
    c1, c2 = st.columns([4, 1])
    c1.markdown(f"**{rel}**  \n{p.stat().st_size / 1024:,.0f} KB")
    c2.download_button("Download", p.read_bytes(), p.name, key=f"rep_{i}")
