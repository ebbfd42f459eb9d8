"""Landing: feedback for every file, rejected files quarantined, nothing already loaded lost."""
from __future__ import annotations

from datetime import date

import duckdb

import pipelines.config as cfg
from pipelines.lib.careers.landing import land
from pipelines.lib.upn import make_upn
from tests.careers.conftest import write_register
from tests.careers.handmade import academies

TODAY = date(2026, 11, 25)
UPNS = [make_upn(352, 4001, 13, k) for k in range(6)]


def _csv(rows, header="upn,year_group,survey_date,item_id,response"):
    return (header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n").encode()


GOOD = _csv([(u, 11, "2024-10-10", item, "Agree") for u in UPNS for item in ("CK01", "ES04")])


def _count(con, sql, params=()):
    return con.execute(sql, list(params)).fetchone()[0]


def test_reject_keeps_earlier_rows_and_quarantines(tmp_path):
    write_register(tmp_path, academies())
    paths = cfg.paths(tmp_path)
    f = paths.fsq / "140001" / "2024-25" / "fsq.csv"
    f.parent.mkdir(parents=True)
    f.write_bytes(GOOD)
    paths.warehouse_dir.mkdir(parents=True)
    con = duckdb.connect(str(paths.warehouse))
    res = land("fsq", paths, con, today=TODAY)
    assert [r.status for r in res] == ["accepted"]
    assert _count(con, "select count(*) from raw.fsq_responses") == 12
    assert (paths.feedback / "fsq" / "140001" / "2024-25" / "fsq.csv.feedback.html").exists()
    # unchanged file: not re-read
    assert land("fsq", paths, con, today=TODAY) == []
    # the academy replaces it with a broken export (no item/response columns): rejected
    f.write_bytes(_csv([(u, 11, "2024-10-10") for u in UPNS], header="upn,year_group,survey_date"))
    res = land("fsq", paths, con, today=TODAY)
    assert res[0].rejected and res[0].problems[0].rule == "no_items"
    assert _count(con, "select count(*) from raw.fsq_responses") == 12          # nothing lost
    q = paths.quarantine / "fsq" / "140001" / "2024-25"
    assert (q / "fsq.csv").exists() and "REJECTED" in (q / "fsq.csv.feedback.txt").read_text()
    assert _count(con, "select count(*) from raw.careers_files where status = 'rejected'") == 1
    # a fixed file replaces its own rows only
    f.write_bytes(_csv([(u, 11, "2024-10-10", "CK01", "Disagree") for u in UPNS]))
    land("fsq", paths, con, today=TODAY)
    assert _count(con, "select count(*) from raw.fsq_responses") == 6
    assert _count(con, "select count(*) from raw.fsq_responses where is_positive") == 0
    con.close()


def test_misfiled_and_unknown_academy(tmp_path):
    write_register(tmp_path, academies())
    paths = cfg.paths(tmp_path)
    (paths.fsq / "999999" / "2024-25").mkdir(parents=True)
    (paths.fsq / "999999" / "2024-25" / "a.csv").write_bytes(GOOD)
    (paths.fsq / "loose.csv").write_bytes(GOOD)
    (paths.compass / "140001").mkdir(parents=True)
    (paths.compass / "140001" / "c.csv").write_bytes(
        b"urn,evaluation_date,framework_version,benchmark,percent_achieved\n"
        + b"".join(f"140001,2024-11-20,2018,{b},{100 if b != 9 else 0}\n".encode() for b in range(1, 10)))
    paths.warehouse_dir.mkdir(parents=True)
    con = duckdb.connect(str(paths.warehouse))
    rules = {r.file: [p.rule for p in r.problems] for r in land("fsq", paths, con, today=TODAY)}
    assert rules["raw/fsq/loose.csv"] == ["misfiled"]
    assert "unknown_academy" in rules["raw/fsq/999999/2024-25/a.csv"]
    assert _count(con, "select count(*) from raw.fsq_responses") == 0
    comp = land("compass", paths, con, today=TODAY)
    assert comp[0].status == "accepted_with_problems" and "benchmark_range" in [p.rule for p in comp[0].problems]
    assert _count(con, "select count(*) from raw.compass_evaluations") == 8
    assert _count(con, "select count(*) from raw.fsq_items") == 18
    con.close()
