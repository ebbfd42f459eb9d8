"""Retention on a real pipeline: pseudonymise a past leaving year in every file and table, keep
every mart identical after the rebuild from the landing zone, strip and purge quarantine."""
from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.privacy.conftest import AS_OF, MARKER

TOKEN = re.compile(rb"[A-Za-z][0-9]{11}[0-9A-Za-z]")


def _serving(root: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted((root / "warehouse" / "serving").glob("*.parquet"))}


@pytest.fixture(scope="module")
def retained(trust, tmp_path_factory):
    """Snapshot the marts, apply retention (pupils of 2024-25 are past 1 year), rebuild."""
    from pipelines.lib.privacy import retention
    from pipelines.runner import run_pipeline
    assert trust["rc"] == 0, trust["lines"][-10:]
    root = trust["root"]
    before = tmp_path_factory.mktemp("before")
    for name, p in _serving(root).items():
        shutil.copy(p, before / p.name)
    inv = retention.inventory(retention.cfg.paths(root))
    pol = retention.Policy(pseudonymise_after_years=1, quarantine_days=90)
    today = date.fromisoformat(AS_OF)
    due = {u for u, y in inv.last_year.items() if pol.pupil_due(y, today)}
    dry = retention.apply(root, today=today, pol=pol, dry_run=True)
    rep = retention.apply(root, today=today, pol=pol,
                          rebuild=lambda r: run_pipeline(r, echo=lambda s: None))
    key = retention.load_key(retention.cfg.paths(root), create=False)
    return {**trust, "before": before, "due": due, "dry": dry, "rep": rep,
            "mapping": {u: retention.pseudonym(u, key) for u in due}}


def test_quarantine_keeps_only_the_return_columns(trust):
    q = trust["root"] / "quarantine" / trust["urn"] / "2025-26" / "R1" / trust["recent"]
    assert q.exists(), "the rejected file should have been quarantined"
    text = q.read_text()
    header = text.splitlines()[0].split(",")
    assert header == ["upn", "year_group", "sex", "disadvantaged", "sen_provision", "destination_code"]
    assert "Quentin" not in text and "Secret Street" not in text
    assert len(text.splitlines()) == 13  # every pupil row kept, for the data team to see
    feedback = json.loads(q.with_name(q.name + ".feedback.json").read_text())
    assert feedback["status"] == "rejected" and feedback["problems"]


def test_retention_reports_what_it_changed(retained):
    dry, rep = retained["dry"], retained["rep"]
    assert rep.pupils == len(retained["due"]) > 100
    assert dry.pupils == rep.pupils and dry.files_pseudonymised == rep.files_pseudonymised
    assert set(rep.pupils_by_leaving_year) <= {"2024-25", "2023-24"}
    assert rep.upn_cells_replaced >= rep.pupils
    assert rep.extra_values_removed > 0  # the planted names, dates of birth
    assert rep.rebuilt is True and not rep.problems
    assert any(f.endswith(retained["stale"]) for f in rep.quarantine_purged)
    from pipelines.lib.privacy import audit
    runs = [e for e in audit.read(retained["root"]) if e["event"] == "retention_run"]
    assert runs and runs[-1]["pupils_pseudonymised"] == rep.pupils


def _compare(con, a: Path, b: Path, mapping: dict[str, str]) -> tuple[int, int]:
    cols = con.execute(f"describe select * from read_parquet('{a}')").fetchall()
    sel = []
    for name, typ, *_ in cols:
        q = f'"{name}"'
        if name == "upn":  # pupil-level marts: the pseudonym stands where the UPN stood
            sel.append(f"coalesce(m.p, {q}) as upn")
        elif typ in ("DOUBLE", "FLOAT"):
            sel.append(f"round({q}, 9) as {q}")  # summation order only
        else:
            sel.append(q)
    has_upn = any(c[0] == "upn" for c in cols)
    join = " left join mapping m on m.u = upper(trim(upn))" if has_upn else ""
    plain = [("upper(trim(upn)) as upn" if c[0] == "upn" else s) for c, s in zip(cols, sel)]
    left = f"select {', '.join(sel)} from read_parquet('{a}'){join}"
    right = f"select {', '.join(plain)} from read_parquet('{b}')"
    d1 = con.execute(f"select count(*) from ({left} except all {right})").fetchone()[0]
    d2 = con.execute(f"select count(*) from ({right} except all {left})").fetchone()[0]
    return d1, d2


def test_every_mart_is_unchanged_after_the_rebuild(retained):
    import pandas as pd
    con = duckdb.connect()
    con.register("mapping", pd.DataFrame({"u": list(retained["mapping"]), "p": list(retained["mapping"].values())}))
    before = {p.stem: p for p in retained["before"].glob("*.parquet")}
    after = _serving(retained["root"])
    assert set(before) == set(after) and len(after) > 20
    diffs = {}
    for name in sorted(before):
        d = _compare(con, before[name], after[name], retained["mapping"])
        n = con.execute(f"select count(*) from read_parquet('{after[name]}')").fetchone()[0]
        if d != (0, 0):
            diffs[name] = d
        assert n == con.execute(f"select count(*) from read_parquet('{before[name]}')").fetchone()[0]
    assert not diffs, f"marts changed by pseudonymisation (rows only before, only after): {diffs}"


def test_no_original_upn_of_a_past_pupil_remains_anywhere(retained):
    root, due = retained["root"], retained["due"]
    due_b = {u.encode() for u in due}
    found = []
    for p in sorted(root.rglob("*")):
        if p.is_file() and "_truth" not in p.parts:  # _truth: the generator's test answers
            data = p.read_bytes()
            if p.suffix == ".xlsx":
                import zipfile, io
                with zipfile.ZipFile(io.BytesIO(data)) as z:
                    data = b"".join(z.read(n) for n in z.namelist())
            hits = {m.group(0).upper() for m in TOKEN.finditer(data)} & due_b
            if hits:
                found.append((str(p.relative_to(root)), len(hits)))
    assert not found, f"original UPNs still in files: {found[:10]}"
    # compressed stores: query every table and every mart
    con = duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True)
    tables = con.execute("select table_schema, table_name, column_name from information_schema.columns "
                         "where data_type = 'VARCHAR'").fetchall()
    import pandas as pd
    con.register("due", pd.DataFrame({"u": sorted(due)}))
    leaked = []
    for schema, table, col in tables:
        n = con.execute(f'select count(*) from "{schema}"."{table}" where upper("{col}") in (select u from due)').fetchone()[0]
        if n:
            leaked.append(f"{schema}.{table}.{col}: {n}")
    pseudo = con.execute("select count(distinct upn) from raw.destination_returns "
                         "where upn in (select unnest(?))", [list(retained["mapping"].values())]).fetchone()[0]
    con.close()
    assert not leaked, leaked
    assert pseudo > 100, "the past pupils are still there, under their pseudonyms"
    c = duckdb.connect()
    c.register("due", pd.DataFrame({"u": sorted(due)}))
    for name, p in _serving(root).items():
        cols = [r[0] for r in c.execute(f"describe select * from read_parquet('{p}')").fetchall()]
        if "upn" in cols:
            assert c.execute(f"select count(*) from read_parquet('{p}') where upn in (select u from due)").fetchone()[0] == 0


def test_planted_names_of_past_pupils_are_gone(retained):
    landed = retained["old_file"].read_text()
    root = retained["root"]
    due_names = [n for u, n in retained["planted"] if u in retained["due"]]
    kept_names = [n for u, n in retained["planted"] if u not in retained["due"]]
    assert due_names
    everything = b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file() and "_truth" not in p.parts
                          and p.suffix in (".csv", ".json", ".html", ".txt", ".jsonl"))
    assert not [n for n in due_names if n.encode() in everything]
    assert all(n in landed for n in kept_names)  # pupils still in the period are untouched
    assert "Forename" in landed.splitlines()[0]  # header kept: the file's warnings stay the same


def test_stale_quarantined_file_is_emptied_and_its_feedback_kept(retained):
    q = retained["root"] / "quarantine" / retained["urn"] / "2024-25" / "R2" / retained["stale"]
    assert q.exists() and q.stat().st_size == 0
    fb = json.loads(q.with_name(q.name + ".feedback.json").read_text())
    assert fb["status"] == "rejected"
    hist = duckdb.connect().execute(
        f"select count(*) from read_parquet('{_serving(retained['root'])['return_submission_history']}') "
        f"where file_path like '%{retained['stale']}'").fetchone()[0]
    assert hist == 1  # the data-quality record of the rejection stays


def test_a_second_run_changes_nothing(retained):
    from pipelines.lib.privacy import retention
    rep = retention.apply(retained["root"], today=date.fromisoformat(AS_OF),
                          pol=retention.Policy(1, 90), dry_run=True)
    assert rep.pupils == 0 and not rep.files_pseudonymised and not rep.quarantine_purged


def test_data_directory_is_owner_only(retained):
    from pipelines.lib.privacy.perms import loose_paths
    assert loose_paths(retained["root"]) == []
    key = retained["root"] / "secrets" / "pseudonym.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"


def test_subject_access_finds_a_current_pupil_and_erasure_removes_them(retained):
    from pipelines.lib.privacy import subject
    root = retained["root"]
    current = next(u for u, _ in retained["planted"] if u not in retained["due"])
    sar = subject.subject_access(current, root)
    assert sar["files"] and sar["tables"]
    assert any(t["table"] == "raw.destination_returns" for t in sar["tables"])
    # a past pupil: found under the pseudonym
    past = sorted(retained["due"])[0]
    sar = subject.subject_access(past, root)
    assert sar["pseudonym"] == retained["mapping"][past] and sar["pseudonym_found"]
    from pipelines.cli import main
    out = root.parent / "sar.json"
    assert main(["subject-access", "--upn", current.lower(), "--out", str(out)]) == 0
    answer = json.loads(out.read_text())
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert answer["upn"] == current and any(r.get("Forename") for f in answer["files"] for r in f["rows"])
    rep = subject.erase(current, root, rebuild=None, by="dpo")
    assert rep["rows_removed"] >= 1
    assert subject.subject_access(current, root)["files"] == []
    with pytest.raises(ValueError):
        subject.subject_access("not-a-upn", root)


def test_pupil_names_follow_retention_subject_access_and_erasure(retained):
    """The optional `pupil_name` return column: cleared with the rest of a past pupil's identity,
    included in a subject-access answer, removed from the files by erasure."""
    from pipelines.lib.generate.trust import pupil_names
    from pipelines.lib.privacy import subject
    import polars as pl
    root = retained["root"]
    con = duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True)
    past = con.execute("select count(*), count(pupil_name) from raw.destination_returns where upn in "
                       "(select unnest(?))", [list(retained["mapping"].values())]).fetchone()
    named = con.execute("select upn, pupil_name from raw.destination_returns where leaving_year = '2025-26' "
                        "and pupil_name is not null order by upn limit 1").fetchone()
    con.close()
    assert past[0] > 100 and past[1] == 0, f"{past[1]} names kept beside pseudonymised UPNs"
    upn, name = named
    assert name == pupil_names(pl.Series([upn]))[0]  # the generated file's name reached the warehouse
    sar = subject.subject_access(upn, root)
    in_files = [r for f in sar["files"] for r in f["rows"] if name in r.values()]
    in_tables = {t["table"] for t in sar["tables"] if any(r.get("pupil_name") == name for r in t["rows"])}
    assert in_files and "raw.destination_returns" in in_tables
    rep = subject.erase(upn, root, rebuild=None, by="dpo")
    assert rep["rows_removed"] >= 1
    for rel in rep["files"]:
        text = (root / rel).read_bytes()
        assert upn.encode() not in text.upper()
    assert subject.subject_access(upn, root)["files"] == []


def test_subject_access_lists_fsq_answers_once_under_their_view(retained):
    """raw.fsq_answers is the view raw.fsq_responses' storage: a pupil's answers are listed once,
    with their file columns, not a second time keyed by a bare file_id."""
    from pipelines.lib.privacy import subject
    root = retained["root"]
    con = duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True)
    upn, answers = con.execute("select upn, count(*) from raw.fsq_answers where upn_is_temporary = false "
                               "and upn not in (select unnest(?)) group by upn order by upn limit 1",
                               [list(retained["mapping"].values())]).fetchone()
    con.close()
    tables = {t["table"]: t["rows"] for t in subject.subject_access(upn, root)["tables"]}
    assert "raw.fsq_answers" not in tables
    assert len(tables["raw.fsq_responses"]) == answers > 0
    assert all(r["source_file"] and r["file_sha256"] for r in tables["raw.fsq_responses"])
