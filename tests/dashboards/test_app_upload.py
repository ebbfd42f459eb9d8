"""Upload page: a good and a bad return go through the real submit_file; result shown at once."""
import shutil

import pytest
from dash_fixture_data import return_csv
from dash_helpers import all_text, frames, goto, login

pytest.importorskip("pipelines.lib.returns.submit")


@pytest.fixture()
def upload_env(demo_dir, tmp_path, monkeypatch):
    d = tmp_path / "data"
    shutil.copytree(demo_dir, d)
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(d))
    return d


def _submit(at, name, content):
    at.file_uploader(key="w_up_file").set_value((name, content, "text/csv"))
    at.run()
    at.button(key="up_submit").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_good_then_bad_upload(upload_env, creds):
    at = login("alder", creds["alder"])
    goto(at, "app_pages/upload.py")
    assert at.selectbox(key="w_up_urn").options == ["Alder Academy (100001)"]  # own URN only
    at.selectbox(key="w_up_year").select("2024-25")
    at.selectbox(key="w_up_round").select("R1")
    _submit(at, "alder_r1.csv", return_csv(20))
    text = all_text(at)
    assert "Accepted" in text and "20 of 20 rows accepted" in text
    stored = list((upload_env / "raw" / "returns" / "100001" / "2024-25" / "R1").glob("*alder_r1*"))
    assert stored, "accepted file filed into the landing zone"

    _submit(at, "alder_bad.csv", return_csv(20, bad=True))
    text = all_text(at)
    assert "Rejected" in text
    probs = frames(at)[-1]
    assert probs["Severity"].eq("file").any()
    assert probs["Problem"].str.contains("destination_code", case=False).any() or \
        probs["How to fix"].str.contains("destination_code", case=False).any()
    assert list((upload_env / "quarantine" / "100001" / "2024-25" / "R1").glob("*alder_bad*"))
