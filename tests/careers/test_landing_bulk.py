"""Landing in one bulk transaction; feedback rewritten only when what it says changes."""
from __future__ import annotations

import os
from datetime import date

import duckdb

import pipelines.config as cfg
from pipelines.lib.careers.landing import land
from pipelines.lib.upn import make_upn
from tests.careers.conftest import write_register
from tests.careers.handmade import academies

TODAY = date(2026, 11, 25)
UPNS = [make_upn(352, 4001, 13, k) for k in range(4)]


def _csv(rows, header="upn,year_group,survey_date,item_id,response"):
    return (header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n").encode()


def test_many_files_one_run_and_quiet_feedback(tmp_path):
    write_register(tmp_path, academies())
    paths = cfg.paths(tmp_path)
    for k, urn in enumerate(("140001", "140002")):
        f = paths.fsq / urn / "2024-25" / "fsq.csv"
        f.parent.mkdir(parents=True)
        f.write_bytes(_csv([(u, 11, "2024-10-10", "CK01", "Agree") for u in UPNS[: 2 + k]]))
    bad = paths.fsq / "140001" / "2024-25" / "broken.csv"
    bad.write_bytes(_csv([(u, 11, "2024-10-10") for u in UPNS], header="upn,year_group,survey_date"))
    paths.warehouse_dir.mkdir(parents=True)
    con = duckdb.connect(str(paths.warehouse))
    res = land("fsq", paths, con, today=TODAY)
    assert sorted(r.status for r in res) == ["accepted", "accepted", "rejected"]
    assert con.execute("select count(*) from raw.fsq_responses").fetchone()[0] == 5
    assert con.execute("select count(*) from raw.careers_files").fetchone()[0] == 3
    fb = paths.feedback / "fsq" / "140001" / "2024-25" / "broken.csv.feedback.txt"
    q = paths.quarantine / "fsq" / "140001" / "2024-25" / "broken.csv"
    stamp = (fb.stat().st_mtime_ns, q.stat().st_mtime_ns)
    os.utime(fb, ns=(1, 1))
    os.utime(q, ns=(1, 1))
    # the rejected file is checked again on every run, but its feedback and quarantine copy say the
    # same, so they are not rewritten; accepted files are skipped (unchanged)
    again = land("fsq", paths, con, today=TODAY)
    assert [r.file for r in again] == ["raw/fsq/140001/2024-25/broken.csv"]
    assert fb.stat().st_mtime_ns == 1 and q.stat().st_mtime_ns == 1 and stamp[0] != 1
    assert con.execute("select count(*) from raw.fsq_responses").fetchone()[0] == 5
    # a changed file's feedback is rewritten and only its rows are replaced
    f = paths.fsq / "140002" / "2024-25" / "fsq.csv"
    f.write_bytes(_csv([(UPNS[0], 11, "2024-10-10", "CK01", "Maybe")] + [(u, 11, "2024-10-10", "CK02", "Agree")
                                                                         for u in UPNS]))
    land("fsq", paths, con, today=TODAY)
    assert con.execute("select count(*) from raw.fsq_responses").fetchone()[0] == 2 + 4
    text = (paths.feedback / "fsq" / "140002" / "2024-25" / "fsq.csv.feedback.txt").read_text()
    assert "response_off_scale" in text or "not on the agreement scale" in text
    con.close()
