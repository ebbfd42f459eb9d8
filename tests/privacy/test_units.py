"""Fast checks of the privacy building blocks (no pipeline run)."""
from __future__ import annotations

import io
import json
import os
import stat

import pytest

from pipelines.lib.privacy import audit, perms, retention
from pipelines.lib.upn import make_upn, upn_problem


@pytest.fixture()
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(tmp_path))
    return tmp_path


def test_pseudonyms_load_like_upns_and_are_recognisable():
    key, other = b"k" * 32, b"o" * 32
    real = [make_upn(352, 4000 + i // 1000, 24, i % 1000) for i in range(2000)]
    ps = [retention.pseudonym(u, key) for u in real]
    assert all(upn_problem(p) is None for p in ps)            # valid check letter: loads as before
    assert all(retention.is_pseudonym(p) for p in ps)
    assert not any(retention.is_pseudonym(u) for u in real)   # real LA numbers never start with 0
    assert len(set(ps)) == len(ps)
    assert retention.pseudonym(real[0].lower(), key) == ps[0]  # stable, case-insensitive
    assert retention.pseudonym(real[0], other) != ps[0]        # keyed
    temp = real[0][:-1] + "A"
    assert retention.pseudonym(temp, key)[-1].isalpha()        # a temporary UPN stays temporary
    assert not set(ps) & set(real)


def test_policy_reads_config_and_rejects_nonsense(tmp_path, monkeypatch):
    cfgdir = tmp_path / "cfg"
    cfgdir.mkdir()
    (cfgdir / "trust.yaml").write_text("rounds: []\nretention:\n  pseudonymise_after_years: 2\n"
                                       "  quarantine_days: 30\n")
    monkeypatch.setenv("DESTINATIONS_CONFIG_DIR", str(cfgdir))
    pol = retention.policy()
    assert (pol.pseudonymise_after_years, pol.quarantine_days) == (2, 30)
    from datetime import date
    assert pol.pupil_due("2022-23", date(2025, 9, 1)) and not pol.pupil_due("2022-23", date(2025, 8, 31))
    (cfgdir / "trust.yaml").write_text("rounds: []\nretention:\n  pseudonymise_after_years: three\n")
    with pytest.raises(ValueError, match="pseudonymise_after_years"):
        retention.policy()


def test_strip_to_spec_on_an_xlsx_with_title_rows_and_a_hidden_sheet(data):
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Return"
    ws.append(["Destinations return, Alder Academy"])
    ws.append([])
    ws.append(["UPN", "Forename", "Year Group", "Sex", "Disadvantaged", "SEN", "Destination", "DOB"])
    ws.append([make_upn(352, 4001, 24, 1), "Hermione", 11, "F", "N", "N", "XX", "2009-01-01"])
    secret = wb.create_sheet("Contacts")
    secret.append(["Parent phone", "07700 900123"])
    secret.sheet_state = "hidden"
    f = data / "q.xlsx"
    buf = io.BytesIO()
    wb.save(buf)
    f.write_bytes(buf.getvalue())
    change = retention.strip_to_spec(f)
    assert change and set(change["columns_removed"]) == {"Forename", "DOB"}
    wb2 = openpyxl.load_workbook(f)
    assert wb2.sheetnames == ["Return"]
    rows = [r for r in wb2.active.iter_rows(values_only=True)]
    assert rows[0][:6] == ("UPN", "Year Group", "Sex", "Disadvantaged", "SEN", "Destination")
    flat = json.dumps([list(map(str, r)) for r in rows])
    assert "Hermione" not in flat and "2009-01-01" not in flat and "Alder Academy" not in flat
    assert retention.strip_to_spec(f) is None  # idempotent
    # the submission keeps its identity: the note records both hashes
    from pipelines.lib.returns import store
    note = json.loads(store.retention_note(f).read_text())
    assert store.submitted_sha(f) == note["submitted_sha256"] != store.sha256_file(f)


def test_unreadable_quarantined_file_keeps_nothing(data):
    f = data / "junk.csv"
    f.write_text("Pupil name: Hermione Granger, DOB 2009-01-01\nno header here\n")
    assert retention.strip_to_spec(f)["kept"] == "nothing"
    assert f.read_bytes() == b""


def test_audit_trail_is_hash_chained_and_detects_tampering(data):
    for i in range(5):
        audit.record("sign_in", user=f"u{i}", outcome="failure")
    assert audit.verify() == []
    p = audit.audit_file()
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    lines = p.read_text().splitlines()
    lines[2] = lines[2].replace('"failure"', '"success"')
    p.write_text("\n".join(lines) + "\n")
    assert audit.verify() == ["line 4: chain broken (a line before it was changed or removed)"]
    p.write_text("\n".join(lines[:1] + lines[2:]) + "\n")  # a line deleted
    assert audit.verify()


def test_tighten_makes_everything_owner_only(tmp_path):
    d = tmp_path / "dd"
    (d / "raw" / "returns").mkdir(parents=True)
    f = d / "raw" / "returns" / "x.csv"
    f.write_text("a")
    os.chmod(f, 0o644)
    os.chmod(d / "raw", 0o755)
    assert perms.loose_paths(d)
    perms.tighten(d)
    assert perms.loose_paths(d) == []


def test_entry_points_set_umask(tmp_path, monkeypatch):
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(tmp_path))
    old = os.umask(0o022)
    try:
        from pipelines.cli import main
        assert main(["template", "--out", str(tmp_path / "t.xlsx")]) == 0
        assert stat.S_IMODE((tmp_path / "t.xlsx").stat().st_mode) == 0o600
    finally:
        os.umask(old)
