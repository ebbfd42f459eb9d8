"""The hostile corpus through both doors: `destinations submit` and drops into the landing zone
followed by `destinations run`. Every other academy's data is still served, nothing already
loaded is lost, a historic 2010-11 return reaches destination_measures, and an academy probing
another academy's pupils is rejected without learning which academy they belong to."""
from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.intake import hostile as H
from tests.returns.helpers import corpus, load, make_data_dir

YEAR = "2024-25"
ODD_NAMES = ["zip bomb (final) copy.xlsx", "ünïcödé ✓ return.xlsx", "a" * 200 + ".xlsx", "..hidden-ish.csv",
             "semi;colon's & <angle>.csv"]


def _cli(*argv: str) -> tuple[int, str, str]:
    from pipelines.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def _raw(p) -> pl.DataFrame:
    con = duckdb.connect(str(p.warehouse), read_only=True)
    try:
        return con.execute("select * exclude (source_file) from raw.destination_returns order by all").pl()
    finally:
        con.close()


def _measures(root: Path) -> pl.DataFrame:
    dm = pl.read_parquet(root / "warehouse" / "serving" / "destination_measures.parquet")
    return (dm.filter((pl.col("level") == "academy") & (pl.col("breakdown_topic") == "Total"))
            .group_by("academy_urn", "leaving_year", "round").agg(pl.col("cohort").sum(), pl.col("positive").sum())
            .sort("academy_urn", "leaving_year", "round"))


@pytest.fixture(scope="module")
def trust(tmp_path_factory):
    from pipelines.runner import run_pipeline

    C = corpus()
    root = tmp_path_factory.mktemp("hostile") / "data"
    old = {k: os.environ.get(k) for k in ("DESTINATIONS_DATA_DIR", "DESTINATIONS_CONFIG_DIR")}
    os.environ["DESTINATIONS_DATA_DIR"] = str(root)
    os.environ.pop("DESTINATIONS_CONFIG_DIR", None)
    p = make_data_dir(root)
    p.academies_csv.write_text(C.register_csv().replace("Birch Primary,352,primary", "Birch Academy,352,secondary"),
                               encoding="utf-8")
    src = root.parent / "incoming"
    src.mkdir()
    log: dict = {"submit": {}}
    try:
        def submit(name: str, data: bytes, urn: str, year: str = YEAR, rnd: str = "R1"):
            f = src / name
            f.write_bytes(data)
            res = _cli("submit", str(f), "--urn", urn, "--year", year, "--round", rnd)
            log["submit"][(name, urn, year)] = res
            return res

        # what is already loaded: two full returns, an actual round and a historic 2010-11 return
        assert submit("oak.csv", C.to_csv(C.pupils(30, estab=4001)), "100001")[0] == 0
        assert submit("ash.csv", C.to_csv(C.pupils(30, estab=4002)), "100002")[0] == 0
        assert submit("oak r3.csv", C.to_csv(C.pupils(30, estab=4001, round_kind="actual")), "100001",
                      YEAR, "R3")[0] == 0
        assert submit("oak 2010-11.csv", C.to_csv(C.pupils(12, estab=4001)), "100001", "2010-11")[0] == 0
        for year, rnd in ((YEAR, "R1"), (YEAR, "R3"), ("2010-11", "R1")):
            load(p, year, rnd)        # what the pipeline's ingest does (one partition at a time)
        log["before"] = _raw(p)

        # the hostile corpus through `destinations submit` (for 100001, whose full return is loaded)
        for name, data in H.corpus_files().items():
            submit(name, data, "100001")
        submit("partial.csv", C.to_csv(C.pupils(5, estab=4001)), "100001")
        submit("big cell ✓.csv", H.big_cell_csv(estab=4003), "100003")
        probe = C.pupils(20, estab=4002)[:15] + C.pupils(5, estab=4009)
        log["probe"] = submit("probe.csv", C.to_csv(probe), "100003")
        log["old_year"] = submit("old.csv", C.to_csv(C.pupils(8)), "100001", "2009-10")
        from pipelines.lib.returns.submit import submit_file
        (src / "birch.csv").write_bytes(C.to_csv(C.pupils(8, estab=4004)))
        log["traversal"] = submit_file(src / "birch.csv", academy_urn="100004", leaving_year=YEAR, round_id="R1",
                                       original_name="../../../../etc/passwd", data_dir=root)

        # ...and straight into the landing zone of 100002, with odd names, plus FSQ / Compass drops
        land = p.returns / "100002" / YEAR / "R1"
        dropped = {}
        for k, (name, data) in enumerate(H.corpus_files().items()):
            odd = ODD_NAMES[k % len(ODD_NAMES)]
            fname = f"{k:02d} {odd}" if k < len(ODD_NAMES) else name
            (land / fname).write_bytes(data)
            dropped[fname] = name
        (land / "partial (5 rows).csv").write_bytes(C.to_csv(C.pupils(5, estab=4002)))
        for d in (p.fsq / "100001" / YEAR, p.compass / "100001"):
            d.mkdir(parents=True, exist_ok=True)
            (d / "stray XFD.xlsx").write_bytes(H.stray_cell("XFD1048576"))
            (d / "bomb.xlsx").write_bytes(H.zip_bomb())
            (d / "empty.csv").write_bytes(b"")
        log["dropped"] = dropped
        lines: list[str] = []
        log["run"] = run_pipeline(root, echo=lines.append), lines
        log["after"] = _measures(root)
        log["raw_after"] = _raw(p)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return root, p, log


def test_the_run_completes(trust):
    rc, lines = trust[2]["run"]
    assert rc == 0, "\n".join(lines)


def test_hostile_submissions_are_rejected_with_exit_1_and_stored_in_quarantine(trust):
    root, p, log = trust
    for name in H.corpus_files():
        rc, out, err = log["submit"][(name, "100001", YEAR)]
        assert rc == 1, (name, out, err)
        assert out.startswith("REJECTED") and "Traceback" not in out + err
    rc, out, _ = log["submit"][("partial.csv", "100001", YEAR)]
    assert rc == 1 and "far fewer than the 30" in out and "--confirm-smaller" in out
    rc, out, _ = log["submit"][("big cell ✓.csv", "100003", YEAR)]
    assert rc == 0 and "only the first 200 were kept" in out
    assert len(out) < 20_000


def test_a_year_the_pipeline_will_not_load_is_refused_at_submit(trust):
    rc, out, err = trust[2]["old_year"]
    assert rc == 2 and "2009-10" in err and "first_leaving_year" in err and not out


def test_path_traversal_in_a_name_stays_in_the_data_directory(trust):
    root, _, log = trust
    stored = log["traversal"].stored_path
    assert stored.resolve().is_relative_to(root.resolve()) and "passwd" in stored.name
    assert not Path("/etc/passwd.feedback.html").exists()


def test_every_landed_hostile_file_went_to_quarantine_with_small_feedback(trust):
    root, p, log = trust
    land = p.returns / "100002" / YEAR / "R1"
    from pipelines.lib.returns.store import is_data_file  # not sidecars or hidden retention notes
    left = sorted(f.name for f in land.iterdir() if is_data_file(f))
    assert len(left) == 1 and left[0].endswith("ash.csv"), left      # only the submitted full return
    q = p.quarantine / "100002" / YEAR / "R1"
    qfiles = [f for f in q.iterdir() if is_data_file(f)]
    assert len(qfiles) == len(log["dropped"]) + 1
    for f in q.iterdir():
        assert f.stat().st_size < 12 * 1024 * 1024
        if f.name.endswith(".feedback.html"):
            assert f.stat().st_size < 200_000
    con = duckdb.connect(str(p.warehouse), read_only=True)
    try:
        rules = dict(con.execute(
            "select s.original_name, min(r.rule) from raw.return_submissions s join raw.return_problems r "
            "using (submission_id) where s.academy_urn = '100002' and s.status = 'rejected' and r.severity = 'file' "
            "group by all").fetchall())
        assert rules.get("partial (5 rows).csv") == "much_smaller_than_current"
        long_name = next(n for n in rules if n.startswith("02 " + "a" * 50))
        assert rules[long_name] == "sheet_too_large"      # stray cell behind a lying <dimension>, 200+ char name
        assert rules["03 ..hidden-ish.csv"] == "sheet_too_large"        # cells without positions
        assert rules["04 semi;colon's & <angle>.csv"] == "file_too_large"   # the 1 GB zip bomb, named .csv
        assert con.execute("select max(length(value)) from raw.return_problems").fetchone()[0] < 200
        careers = con.execute("select kind, status, count(*) from raw.careers_files group by all order by all").fetchall()
        assert careers == [("compass", "rejected", 3), ("fsq", "rejected", 3)]
        summary = con.execute("select max(length(example_rows)) from marts.return_problem_summary").fetchone()[0]
        assert summary is None or summary < 100
    finally:
        con.close()


def test_nothing_already_loaded_is_lost_and_others_are_still_served(trust):
    _, _, log = trust
    before, after = log["before"], log["raw_after"]
    assert before.height == 30 + 30 + 30 + 12
    kept = after.filter(pl.col("academy_urn").is_in(["100001", "100002"]))
    assert before.equals(kept)                        # every row already loaded kept, value for value
    cohort = {(r["academy_urn"], r["leaving_year"], r["round"]): r["cohort"] for r in log["after"].iter_rows(named=True)}
    assert cohort[("100001", YEAR, "R1")] == 30
    assert cohort[("100002", YEAR, "R1")] == 30
    assert cohort[("100001", YEAR, "R3")] == 30
    assert cohort[("100001", "2010-11", "R1")] == 12
    assert cohort[("100003", YEAR, "R1")] == 7          # big-cell file: 8 rows, the formula UPN excluded


def test_historic_2010_11_return_reaches_destination_measures(trust):
    root, _, _ = trust
    dm = pl.read_parquet(root / "warehouse" / "serving" / "destination_measures.parquet")
    old = dm.filter((pl.col("leaving_year") == "2010-11") & (pl.col("breakdown_topic") == "Total"))
    # the register says the academies joined in 2019, so 2010-11 has academy rows and no trust total
    assert set(old["level"]) == {"academy"} and old["academy_urn"].unique().to_list() == ["100001"]
    assert old["cohort"].sum() == 12


def test_probing_another_academys_pupils_is_rejected_and_reported_to_the_data_team(trust):
    root, p, log = trust
    rc, out, _ = log["probe"]
    assert rc == 1 and "many_other_academy_pupils" not in out   # plain words, not rule ids
    assert "15 of the 20 pupils" in out and "other academies of the trust" in out
    assert "100002" not in out and "Ash Grove" not in out
    html = next((p.quarantine / "100003" / YEAR / "R1").glob("*probe.csv.feedback.html")).read_text()
    assert "100002" not in html and "Ash Grove" not in html
    con = duckdb.connect(str(p.warehouse), read_only=True)
    try:
        pairs = con.execute("select academy_urn, other_academy_urn, file_status, count(*) from "
                            "raw.return_upn_conflicts group by all").fetchall()
    finally:
        con.close()
    assert ("100003", "100002", "rejected", 15) in pairs
    assert all(a != b for a, b, _, _ in pairs)
