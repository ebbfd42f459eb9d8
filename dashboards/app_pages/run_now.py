"""Run now: the data team starts `destinations run` in the background and watches it."""
import time

import streamlit as st

from dashboards.lib import ui
from pipelines.config import paths
from pipelines.lib import runnow

ctx = ui.page("Run the pipeline now", "trust_admin",
              caption="Starts `destinations run` in the background (ingest, dbt build and checks, publish, "
                      "reports, reminders). One run at a time; the dashboard shows the new figures when it ends.")
p = paths(ctx.data_dir)
cur = runnow.state(p)
busy = bool(cur and cur.running)
if st.button("Run now", type="primary", disabled=busy, key="run_now"):
    cur = runnow.start(p, started_by=ctx.user.label)
    busy = cur.running
    st.toast("Pipeline run started")
if cur is None:
    st.info("No run has been started from the dashboard yet.")
    st.stop()
if cur.running:
    st.warning(f"Running since {cur.started_at} (started by {cur.started_by or 'the data team'}; pid {cur.pid}). "
               "A second run cannot start until this one ends.")
elif cur.exit_code == 0:
    st.success(f"The last run (started {cur.started_at}) finished successfully.")
else:
    st.error(f"The last run (started {cur.started_at}) did not complete cleanly (exit code {cur.exit_code}). "
             "See the log below.")
st.caption(f"Log: {cur.log}")
st.code(cur.tail(40) or "(no output yet)", language="text")
if cur.running:
    time.sleep(3)
    st.rerun()
