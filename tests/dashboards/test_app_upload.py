"""Upload page: template, a good and a bad return through the real submit_file, and the
confirmation a much smaller replacement file needs."""
import io
import shutil

import pandas as pd
import pytest
from dash_fixture_data import N1, U1, return_csv
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
    if any(c.key == "w_up_confirm_small" for c in at.checkbox):  # replacing a bigger return
        at.checkbox(key="w_up_confirm_small").check().run()
    at.button(key="up_submit").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_good_then_bad_upload(upload_env, creds):
    at = login("alder", creds["alder"])
    goto(at, "app_pages/upload.py")
    assert at.selectbox(key="w_up_urn").options == [f"{N1} ({U1})"]  # own URN only
    years = at.selectbox(key="w_up_year").options
    at.selectbox(key="w_up_year").select(years[-1])
    at.selectbox(key="w_up_round").select("R1")
    _submit(at, "alder_r1.csv", return_csv(20))
    text = all_text(at)
    assert "being processed" in text and "20 of 20 rows accepted" in text
    stored = list((upload_env / "raw" / "returns" / U1 / years[-1] / "R1").glob("*alder_r1*"))
    assert stored, "accepted file filed into the landing zone"
    goto(at, "app_pages/data_quality.py")   # shows at once as received, being processed
    assert "received and being processed" in all_text(at)

    goto(at, "app_pages/upload.py")
    at.selectbox(key="w_up_year").select(years[-1])
    at.selectbox(key="w_up_round").select("R1")
    _submit(at, "alder_bad.csv", return_csv(20, bad=True))
    text = all_text(at)
    assert "Rejected" in text
    probs = frames(at)[-1]
    assert probs["Severity"].eq("file").any()
    assert list((upload_env / "quarantine" / U1 / years[-1] / "R1").glob("*alder_bad*"))


def test_a_much_smaller_file_needs_confirmation(upload_env, creds):
    rs = pd.read_parquet(upload_env / "warehouse" / "serving" / "return_status.parquet")
    cur = rs[(rs["academy_urn"] == U1) & (rs["return_status"] == "submitted") & (rs["rows_total"] > 40)].iloc[-1]
    at = login("alder", creds["alder"])
    goto(at, "app_pages/upload.py")
    at.selectbox(key="w_up_year").select(cur["leaving_year"])
    at.selectbox(key="w_up_round").select(cur["round"])
    at.file_uploader(key="w_up_file").set_value(("tiny.csv", return_csv(5), "text/csv"))
    at.run()
    assert f"This file has 5 leaver rows; the return it replaces" in all_text(at)
    assert at.button(key="up_submit").disabled
    at.checkbox(key="w_up_confirm_small").check().run()
    assert not at.button(key="up_submit").disabled


def test_template_has_codes_meanings_and_2000_rows(upload_env, creds):
    from openpyxl import load_workbook
    at = login("alder", creds["alder"])
    goto(at, "app_pages/upload.py")
    codes = next(df for df in frames(at) if "Meaning" in df.columns)
    assert codes.loc[codes["Code"] == "720", "Meaning"].iloc[0] == "Refugee or asylum seeker (historic)"
    assert set(codes.loc[codes["Column"] == "sen_provision", "Code"]) == {"N", "K", "E"}
    assert "offer_made" in set(codes["Code"])
    from pipelines.lib.returns.template import write_template
    path = write_template(upload_env / "t.xlsx", rows=2000)
    wb = load_workbook(str(path))
    dv = [d for d in wb["Return"].data_validations.dataValidation]
    assert dv and all("2001" in str(d.sqref) for d in dv)
    assert any(b.proto.label.startswith("Download the template") for b in at.get("download_button"))
