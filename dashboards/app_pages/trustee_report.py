"""Trustee report: the annual pack's headlines, a preview of page 1, and the PDF / XLSX."""
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import streamlit as st

from dashboards.lib import ui
from pipelines.config import paths

ctx = ui.page("Trustee report", "trust_admin", "director",
              caption="The annual trustee pack: published (suppressed) figures only, the same cells this "
                      "dashboard shows directors.")
reports = paths(ctx.data_dir).reports


@st.cache_data(show_spinner=False, max_entries=8)
def page_one(pdf: str, mtime: float) -> bytes | None:
    """Page 1 of the PDF as PNG (poppler's pdftoppm), cached per file version."""
    if not shutil.which("pdftoppm"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "p"
        proc = subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "70", "-png", "-singlefile", pdf, str(out)],
                              capture_output=True, timeout=60)
        png = out.with_suffix(".png")
        return png.read_bytes() if proc.returncode == 0 and png.is_file() else None


if ctx.user.role == "trust_admin":
    from pipelines.lib.report import ReportDataError, build_pack, report_years
    years = report_years(ctx.serving)
    with st.expander("Build the pack from the current snapshot"):
        if years:
            y = st.selectbox("Leaving year", years, key="w_rep_year")
            if st.button(f"Build the {y} pack", key="rep_build"):
                with st.spinner("Building the PDF and workbook..."):
                    try:
                        build_pack(y, reports / y, ctx.serving)
                        st.success(f"Built the {y} pack.")
                    except ReportDataError as exc:
                        st.error(str(exc))
        else:
            st.caption("No leaving year has actual destinations yet, so there is no pack to build.")

packs = sorted(reports.rglob("trustee_report_*.pdf"), key=lambda p: p.name, reverse=True) if reports.is_dir() else []
if not packs:
    ui.empty("No trustee pack has been written yet. The pipeline writes the latest year's pack when it publishes "
             "(or the data team runs `destinations report --year YYYY-YY --out <data dir>/reports`).")
    st.stop()
labels = {p: p.stem.replace("trustee_report_", "") for p in packs}
pdf = st.selectbox("Leaving year", packs, format_func=labels.get, key="w_rep_pick")
year = labels[pdf]
summary = pdf.with_suffix(".json")
info = json.loads(summary.read_text()) if summary.is_file() else {}
left, right = st.columns([3, 2])
with left:
    st.subheader(f"Leavers of {year}" + (f", actual destinations ({info['round']})" if info.get("round") else ""))
    if info.get("generated_at"):
        st.caption(f"Built {info['generated_at']} from the published snapshot. "
                   f"{info.get('withheld_cells', 0)} cells withheld (c) to protect pupils.")
    for line in info.get("findings", []):
        st.markdown(f"- {line}")
    if info.get("sections"):
        st.markdown("**Sections:** " + "; ".join(s["title"] + ("" if s["available"] else " (not available)")
                                                 for s in info["sections"]))
    c1, c2 = st.columns(2)
    c1.download_button("Download PDF", pdf.read_bytes(), pdf.name, "application/pdf", key="rep_pdf",
                       icon=":material/picture_as_pdf:")
    xlsx = pdf.with_suffix(".xlsx")
    if xlsx.is_file():
        c2.download_button("Download XLSX (every table, with charts)", xlsx.read_bytes(), xlsx.name,
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="rep_xlsx",
                           icon=":material/table:")
with right:
    png = page_one(str(pdf), pdf.stat().st_mtime)
    if png:
        st.image(png, caption="Page 1 of the PDF", width="stretch")
    else:
        st.caption("Preview not available (needs poppler's pdftoppm on the server).")
