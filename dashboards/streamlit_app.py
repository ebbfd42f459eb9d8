"""Trust Destinations dashboard: router. `streamlit run dashboards/streamlit_app.py`.

The menu is built per run from the signed-in user's role; every page checks the role
again itself and reads data only through dashboards.lib.data (scoped by URN)."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pipelines.config  # noqa: E402,F401  (telemetry off)
import streamlit as st  # noqa: E402

from dashboards.lib import session  # noqa: E402
from dashboards.lib.users import ROLE_LABELS  # noqa: E402
from pipelines.lib.privacy.perms import secure_process  # noqa: E402

secure_process()  # files the dashboard writes (users, audit trail, uploads): owner only

ALL = ("trust_admin", "director", "academy")
# (file, title, icon, roles, section)
PAGES = [
    ("app_pages/overview.py", "Overview", ":material/dashboard:", ALL, "Destinations"),
    ("app_pages/destinations.py", "Destinations", ":material/alt_route:", ALL, "Destinations"),
    ("app_pages/neet.py", "NEET and not known", ":material/person_search:", ALL, "Destinations"),
    ("app_pages/gaps.py", "Disadvantage and SEND gaps", ":material/balance:", ALL, "Destinations"),
    ("app_pages/stereotype.py", "Stereotype goals", ":material/diversity_3:", ALL, "Destinations"),
    ("app_pages/similar_schools.py", "Similar schools", ":material/compare:", ALL, "Destinations"),
    ("app_pages/neet_risk.py", "NEET risk", ":material/warning:", ("trust_admin", "academy"), "Pupils"),
    ("app_pages/careers.py", "Future skills and Compass", ":material/explore:", ALL, "Careers"),
    ("app_pages/data_quality.py", "Data quality and returns", ":material/fact_check:", ALL, "Returns"),
    ("app_pages/upload.py", "Upload a return", ":material/upload_file:", ("trust_admin", "academy"), "Returns"),
    ("app_pages/trustee_report.py", "Trustee report", ":material/description:", ("trust_admin", "director"), "Reports"),
    ("app_pages/users.py", "Users", ":material/manage_accounts:", ("trust_admin",), "Admin"),
    ("app_pages/audit.py", "Audit trail", ":material/policy:", ("trust_admin",), "Admin"),
    ("app_pages/run_now.py", "Run now", ":material/play_circle:", ("trust_admin",), "Admin"),
]


def pages_for(role: str) -> dict[str, list]:
    nav: dict[str, list] = {}
    for i, (path, title, icon, roles, section) in enumerate(PAGES):
        if role in roles:
            nav.setdefault(section, []).append(
                st.Page(path, title=title, icon=icon, default=(i == 0)))
    return nav


st.set_page_config(page_title="Trust Destinations", page_icon=":material/school:", layout="wide")
user = session.current_user()
if user is None:
    # Anonymous: the login is the only page that exists, whatever the URL.
    st.navigation([st.Page(session.login_form, title="Sign in", url_path="login")],
                  position="hidden").run()
else:
    nav = st.navigation(pages_for(user.role), expanded=True)  # 13 admin pages: never hide some behind "View more"
    with st.sidebar:
        st.markdown(f"**{user.label}**  \n{ROLE_LABELS[user.role]}"
                    + (f"  \nURN {', '.join(user.urns)}" if user.urns else ""))
        if st.button("Sign out", key="sign_out"):
            session.logout()
    nav.run()
