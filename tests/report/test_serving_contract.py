"""One serving contract for the dashboard and the pack: every mart and column a consumer
names exists in the dbt manifest and the served files; a renamed mart fails loudly."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipelines.lib import serving_contract as contract
from pipelines.lib.dbt_manifest import mart_audience, mart_columns, mart_models

REPO = Path(__file__).resolve().parents[2]
CONSUMERS = sorted([*REPO.glob("dashboards/**/*.py"), *REPO.glob("pipelines/lib/report/*.py"),
                    *REPO.glob("pipelines/lib/public/*.py"), *REPO.glob("pipelines/lib/notify/*.py")])
READERS = {"load", "read_mart", "_rows", "source_for", "read", "read_served", "_mart"}


def named_marts() -> dict[str, set[str]]:
    """mart name -> files, for every string literal a consumer passes to a reader."""
    out: dict[str, set[str]] = {}
    for f in CONSUMERS:
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Call):
                fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if fn in READERS:
                    for a in node.args:
                        if (isinstance(a, ast.Constant) and isinstance(a.value, str) and "_" in a.value
                                and a.value not in contract.ROLES):
                            out.setdefault(a.value, set()).add(str(f.relative_to(REPO)))
    return out


def test_every_mart_a_consumer_names_is_declared_and_in_the_manifest():
    names = named_marts()
    assert {"destination_measures", "neet_not_known", "goal_progress", "destination_routes",
            "neet_la_comparator", "return_status", "compass_academy_summary", "return_problem_summary",
            "return_submission_history"} <= set(names)
    manifest = set(mart_models())
    for name, files in names.items():
        assert name in contract.USES, (name, files)
        assert name in manifest, (name, files)
    for base in contract.USES:
        assert base in manifest, base


def test_every_declared_column_is_in_the_served_marts():
    """Read through the contract on a real pipeline snapshot: a missing column raises."""
    from tests.real_snapshot import real_snapshot
    snap = contract.Snapshot(real_snapshot() / "warehouse" / "serving")
    for base, cols in contract.USES.items():
        for name in (base, base + "_published"):
            if name not in mart_models():
                continue
            t = snap.read(name)
            assert t is not None, f"{name} not in the snapshot"
            assert set(cols) <= set(t.column_names)
            assert set(mart_columns(name)) <= set(have_all := snap.columns(name)), (name, have_all)


def test_directors_read_only_marts_declared_for_them():
    for base in contract.USES:
        src = contract.source_for(base, "director")
        if src.whole:
            assert "director" in mart_audience(src.whole)
            if src.whole != base:
                assert src.whole == base + "_published"
        src = contract.source_for(base, "academy")
        if src.own:
            assert "academy_own" in mart_audience(src.own)
        if src.whole:
            assert "academy" in mart_audience(src.whole)


def test_pupil_level_marts_have_no_director_or_whole_academy_audience():
    for name in mart_models():
        aud = mart_audience(name)
        if name in ("neet_risk_pupils", "destination_reconciliation", "fsq_destination_linkage"):
            assert aud <= {"academy_own"}, name


def test_a_renamed_mart_fails_loudly(built, monkeypatch, tmp_path):
    """Take goal_progress out of the manifest (as a rename would): the pack raises, not 'not published'."""
    from pipelines.lib import dbt_manifest
    from pipelines.lib.report import build_pack
    real = dbt_manifest.mart_models
    monkeypatch.setattr(dbt_manifest, "mart_models", lambda: [m for m in real() if not m.startswith("goal_progress")])
    with pytest.raises(contract.ContractError, match="goal_progress"):
        build_pack(built.year, tmp_path / "out", built.serving)


def test_a_renamed_column_fails_loudly(built, tmp_path):
    import shutil

    import pyarrow.parquet as pq
    from pipelines.lib.report import build_pack
    s = tmp_path / "serving"
    shutil.copytree(built.serving, s)
    t = pq.read_table(s / "neet_not_known_published.parquet")
    pq.write_table(t.rename_columns(["neet_rate" if c == "neet_pct" else c for c in t.column_names]),
                   s / "neet_not_known_published.parquet")
    with pytest.raises(contract.ContractError, match="neet_pct"):
        build_pack(built.year, tmp_path / "out", s)


def test_no_consumer_suppresses_guesses_or_keeps_its_own_code_labels():
    banned = ("find_col", "primary_suppressed", "secondary_suppress", "min_cohort", "min_count",
              "dashboards.lib.suppression", "report.disclosure", "Custody (young adult", "Refugee or asylum")
    import re
    for f in CONSUMERS:
        # the public page prints the rules it was published under (columns rule_min_cohort, ...)
        text = re.sub(r"rule_min_co(hort|unt)", "", f.read_text())
        for b in banned:
            assert b not in text, (f.name, b)
    assert not (REPO / "dashboards" / "lib" / "suppression.py").exists()
    assert not (REPO / "pipelines" / "lib" / "report" / "disclosure.py").exists()


def test_code_labels_come_from_the_seed():
    labels = contract.code_labels()
    assert labels["720"] == "Refugee or asylum seeker (historic)" and labels["710"].startswith("Custody")


def test_every_consumer_reads_through_the_contract():
    """Public pages, governor packs and reminders read like the dashboard and the pack: through
    Snapshot.read + USES (report.serving.read_served), never a Parquet file directly."""
    for f in CONSUMERS:
        text = f.read_text()
        if f.name in ("serving.py",) or "dashboards" in f.parts:
            continue
        for b in ("read_rows", "pq.read_table", "read_parquet", "ParquetFile"):
            assert b not in text, (f.relative_to(REPO), b)


def test_a_consumer_asking_for_an_undeclared_column_or_mart_fails(tmp_path):
    """A row served to public pages / governor packs / reminders holds the declared columns only:
    asking for another one raises, and so does a mart the manifest does not have."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.lib.report.serving import read_served
    cols = contract.USES["return_status"]
    pq.write_table(pa.table({c: ["x"] for c in cols} | {"secret_column": ["y"]}), tmp_path / "return_status.parquet")
    rows = read_served(tmp_path, "return_status", "trust_admin")
    assert rows and rows[0]["academy_urn"] == "x" and rows[0].get("academy_name") == "x"
    with pytest.raises(contract.ContractError, match="secret_column"):
        rows[0].get("secret_column")
    with pytest.raises(contract.ContractError, match="not_a_column"):
        rows[0]["not_a_column"]
    with pytest.raises(contract.ContractError, match="no_such_mart"):
        read_served(tmp_path, "no_such_mart", "trust_admin")
    # a declared column the served file lacks fails at read
    pq.write_table(pa.table({c: ["x"] for c in cols if c != "due_date"}), tmp_path / "return_status.parquet")
    with pytest.raises(contract.ContractError, match="due_date"):
        read_served(tmp_path, "return_status", "trust_admin")


def test_one_label_per_measure():
    """A measure's label is spelled once (dbt seed `measures`): no consumer spells one again as a
    string of its own, and a destination sub-group of the same name carries the same label."""
    import csv

    from pipelines.config import SEEDS_DIR
    labels = contract.measure_labels()
    short = contract.measure_labels(short=True)
    assert labels["positive"] == "In education, employment or training" and short["neet"] == "NEET"
    assert list(labels)[:2] == ["positive", "education"]          # display order
    spelled = {v for v in (*labels.values(), *short.values()) if " " in v or len(v) > 9}
    for f in CONSUMERS + [REPO / "pipelines/lib/public/statement.py"]:
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in spelled, f"{f.relative_to(REPO)} spells the label {node.value!r} again"
    sql = (REPO / "dbt_project/models/marts/public/public_destination_statement.sql").read_text()
    assert not any(v in sql for v in spelled), "the statement model spells a measure label"
    with open(SEEDS_DIR / "destination_sub_groups.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["destination_sub_group"] in short:
                assert r["sub_group_label"] == short[r["destination_sub_group"]], r


def test_a_served_nan_is_none(tmp_path):
    """NaN in a float column is read as None (as an empty figure); every other value as stored."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.lib.report.serving import read_served
    cols = contract.USES["return_status"]
    data = {c: ["x", "y", None] for c in cols}
    data["days_overdue"] = pa.array([float("nan"), 2.5, None], pa.float64())
    data["rows_total"] = pa.array([1, None, 3], pa.int64())
    pq.write_table(pa.table(data), tmp_path / "return_status.parquet")
    rows = read_served(tmp_path, "return_status", "trust_admin")
    assert [r["days_overdue"] for r in rows] == [None, 2.5, None]
    assert [r["rows_total"] for r in rows] == [1, None, 3]
    assert [r.get("academy_urn") for r in rows] == ["x", "y", None]
