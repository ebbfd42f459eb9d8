"""Every page and role against a real pipeline snapshot (opt-in: slow to produce).

    destinations generate --out /tmp/dash_demo && DESTINATIONS_DATA_DIR=/tmp/dash_demo destinations run
    DASH_REAL_DATA=/tmp/dash_demo pytest tests/dashboards/test_real_snapshot.py
"""
import os
from pathlib import Path

import pandas as pd
import pytest
from dash_helpers import frames
from streamlit.testing.v1 import AppTest

REAL = os.environ.get("DASH_REAL_DATA")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not REAL or not (Path(REAL) / "warehouse" / "serving").is_dir(),
                                 reason="set DASH_REAL_DATA to a data directory the pipeline has published")]
APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "streamlit_app.py")


@pytest.fixture()
def real(tmp_path, monkeypatch):
    from dashboards.lib import users
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", REAL)
    path = tmp_path / "users.json"
    monkeypatch.setenv("DESTINATIONS_USERS_FILE", str(path))
    reg = pd.read_csv(Path(REAL) / "raw" / "academies.csv", dtype=str)
    urn = reg["urn"].iloc[0]
    users.add_user("admin", "trust_admin", password="real-pass-123", path=path)
    users.add_user("director", "director", password="real-pass-123", path=path)
    users.add_user("acad", "academy", [urn], password="real-pass-123", path=path)
    return urn, set(reg["urn"]) - {urn}, set(reg["name"]) - {reg["name"].iloc[0]}


@pytest.mark.parametrize("user,role", [("admin", "trust_admin"), ("director", "director"), ("acad", "academy")])
def test_every_page_on_real_snapshot(real, user, role):
    from dashboards.streamlit_app import PAGES
    urn, other_urns, other_names = real
    at = AppTest.from_file(APP, default_timeout=120)
    import time
    at.session_state["td_auth"] = {"username": user, "method": "password",
                                   "signed_in_at": time.time(), "last_seen": time.time()}
    at.run()
    for path, title, _i, roles, _s in PAGES:
        if role not in roles:
            continue
        at.switch_page(path)
        at.run()
        assert not at.exception, (title, [e.value for e in at.exception])
        if role == "academy":
            blob = "\n".join(df.to_csv(index=False) for df in frames(at))
            blob += "\n".join(str(o) for sb in at.selectbox for o in sb.options)
            leaked = [u for u in other_urns if u in blob] + [n for n in other_names if n in blob]
            assert not leaked, (title, leaked[:3])
        if role == "director":
            for df in frames(at):
                assert "UPN" not in df.columns and "upn" not in df.columns, title
