"""Return rules added with the one intake: leaving years from config, a partial file cannot
silently replace a full return, and cross-academy feedback never names the other academy."""
from __future__ import annotations

from datetime import date

import pytest

import pipelines.config as cfg
from pipelines.lib.returns.submit import check_arguments, submit_file
from tests.returns.helpers import corpus, load, query

C = corpus()


def test_leaving_years_come_from_trust_config(tmp_path, monkeypatch):
    years = cfg.leaving_years(date(2026, 12, 1))
    assert years[0] == "2010-11" and years[-1] == "2027-28"
    from pipelines.defs.partitions import leaving_year_partitions
    assert "2010-11" in leaving_year_partitions.get_partition_keys()
    cfgdir = tmp_path / "cfg"
    cfgdir.mkdir()
    (cfgdir / "trust.yaml").write_text((cfg.PROJECT_ROOT / "config" / "trust.yaml").read_text().replace(
        'first_leaving_year: "2010-11"', 'first_leaving_year: "2016-17"'), encoding="utf-8")
    monkeypatch.setenv("DESTINATIONS_CONFIG_DIR", str(cfgdir))
    assert cfg.leaving_years(date(2026, 12, 1))[0] == "2016-17"
    assert "2015-16" in check_arguments("100001", "2015-16", "R1")
    assert check_arguments("100001", "2016-17", "R1") is None


def test_submit_refuses_a_year_the_pipeline_will_not_load(data, tmp_path, capsys):
    from pipelines.cli import main

    f = tmp_path / "r.csv"
    f.write_bytes(C.to_csv(C.pupils()))
    assert main(["submit", str(f), "--urn", "100001", "--year", "2009-10", "--round", "R1"]) == 2
    err = capsys.readouterr().err
    assert "2009-10" in err and "2010-11" in err and "first_leaving_year" in err
    assert not data.quarantine.exists() and not data.returns.exists()
    far = f"{date.today().year + 3}-{(date.today().year + 4) % 100:02d}"
    assert main(["submit", str(f), "--urn", "100001", "--year", far, "--round", "R1"]) == 2


def _submit(data, tmp_path, name, rows, **kw):
    f = tmp_path / name
    f.write_bytes(C.to_csv(rows))
    return submit_file(f, academy_urn="100001", leaving_year="2024-25", round_id="R1", data_dir=data.root, **kw)


def test_a_partial_file_does_not_replace_a_full_return_unless_confirmed(data, tmp_path):
    assert _submit(data, tmp_path, "full.csv", C.pupils(40)).exit_code == 0
    load(data, "2024-25", "R1")
    out = _submit(data, tmp_path, "five.csv", C.pupils(5))
    assert out.exit_code == 1 and [p.rule for p in out.problems if p.severity == "file"] == ["much_smaller_than_current"]
    assert "5 pupil(s)" in out.summary_text and "40" in out.summary_text
    load(data, "2024-25", "R1")
    assert query(data, "select count(*) from raw.destination_returns")[0][0] == 40
    # a partial file dropped straight into the landing zone is quarantined the same way
    (data.returns / "100001" / "2024-25" / "R1" / "dropped.csv").write_bytes(C.to_csv(C.pupils(6)))
    res = load(data, "2024-25", "R1")
    assert any(q.endswith("dropped.csv") for q in res.quarantined)
    assert query(data, "select count(*) from raw.destination_returns")[0][0] == 40
    # the sender confirms the cohort really shrank: accepted, and the pipeline honours it on reload
    out = _submit(data, tmp_path, "five-confirmed.csv", C.pupils(5), confirm_smaller=True)
    assert out.exit_code == 0
    load(data, "2024-25", "R1")
    assert query(data, "select count(*) from raw.destination_returns")[0][0] == 5


def test_cross_academy_feedback_never_names_the_other_academy(data, tmp_path):
    other = C.pupils(30, estab=4002)
    f = tmp_path / "ash.csv"
    f.write_bytes(C.to_csv(other))
    submit_file(f, academy_urn="100002", leaving_year="2024-25", round_id="R1", data_dir=data.root)
    load(data, "2024-25", "R1")
    rows = C.pupils(30) + other[:2]                      # 2 of 32 (6%): under the 10% share
    out = _submit(data, tmp_path, "mine.csv", rows)
    cross = [p for p in out.problems if p.rule == "upn_other_academy"]
    assert out.exit_code == 0 and len(cross) == 2
    assert all("another academy of the trust" in p.message and "100002" not in p.message for p in cross)
    assert "100002" not in out.summary_text and "Ash Grove" not in out.summary_text
    html = out.report_path.read_text()
    assert "100002" not in html and "Ash Grove" not in html
    load(data, "2024-25", "R1")
    pairs = query(data, "select academy_urn, other_academy_urn, file_status, count(*) from raw.return_upn_conflicts "
                        "group by all")
    assert pairs == [("100001", "100002", "accepted_with_warnings", 2)]
