"""The `by_leaving_year` materialization (dbt_project/macros/by_leaving_year.sql), run by real dbt
on DuckDB in a small project that uses the project's own macro file: replacing the changed
leaving years in place gives the table a full build gives, row for row and column type for column
type; years not named keep their rows; a model whose columns changed is rebuilt whole when every
year is built, and stops a build that names only some years. The content hash a build by year
records (from the previous one, macros/content_hash.sql) is the hash of the whole table."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.publish import HASH_COMMENT

MACROS = [Path(__file__).resolve().parents[2] / "dbt_project" / "macros" / name
          for name in ("by_leaving_year.sql", "content_hash.sql")]
DBT = Path(sys.executable).parent / "dbt"

# several column types, a list, a decimal, a date and a null: an insert must keep every type
MODEL = """{{ config(**by_leaving_year()) }}
select leaving_year, upn, score * 1.5 as score, cast(score as decimal(9, 2)) as score_dec,
    [upn, leaving_year] as pair, date '2025-09-01' + cast(score as integer) as seen_on,
    score > 2 as high, cast(null as varchar) as note %s
from {{ source('raw', 'pupils') }}
where {{ leaving_years_changed() }}
"""


def _project(root: Path, extra_column: str = "", hashed: bool = False) -> Path:
    proj = root / "proj"
    (proj / "models").mkdir(parents=True, exist_ok=True)
    (proj / "macros").mkdir(exist_ok=True)
    for macro in MACROS:
        shutil.copy2(macro, proj / "macros" / macro.name)
    hook = "models:\n  t:\n    +post-hook: \"{{ td_record_content_hash() }}\"\n" if hashed else ""
    (proj / "dbt_project.yml").write_text(
        "name: t\nversion: '1.0'\nconfig-version: 2\nprofile: t\nflags: {send_anonymous_usage_stats: false}\n" + hook)
    (proj / "profiles.yml").write_text(
        "t:\n  target: x\n  outputs:\n    x:\n      type: duckdb\n      path: \"{{ env_var('WH') }}\"\n      threads: 1\n")
    (proj / "models" / "sources.yml").write_text(
        "version: 2\nsources:\n  - name: raw\n    schema: raw\n    tables: [{name: pupils}]\n")
    (proj / "models" / "pupil_scores.sql").write_text(MODEL % extra_column)
    return proj


def _dbt(proj: Path, wh: Path, years: str | None, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "WH": str(wh), "DO_NOT_TRACK": "1", "DBT_TARGET_PATH": str(proj / "target"),
           "DBT_LOG_PATH": str(proj / "logs")}
    env.pop("DESTINATIONS_BUILD_LEAVING_YEARS", None)
    if years is not None:
        env["DESTINATIONS_BUILD_LEAVING_YEARS"] = years
    return subprocess.run([str(DBT), "run", "--profiles-dir", str(proj), "--project-dir", str(proj), *args],
                          env=env, capture_output=True, text=True)


def _raw(wh: Path, rows: list[tuple]) -> None:
    with duckdb.connect(str(wh)) as con:
        con.execute("create schema if not exists raw")
        con.execute("create or replace table raw.pupils (leaving_year varchar, upn varchar, score double)")
        con.executemany("insert into raw.pupils values (?, ?, ?)", rows)


def _table(wh: Path) -> tuple[list[tuple], list[tuple]]:
    with duckdb.connect(str(wh), read_only=True) as con:
        types = con.execute("select column_name, data_type from information_schema.columns "
                            "where table_name = 'pupil_scores' order by ordinal_position").fetchall()
        rows = con.execute("select * from main.pupil_scores order by all").fetchall()
    return types, rows


OLD = [("2024-25", "A1", 1.0), ("2024-25", "A2", 2.0), ("2025-26", "B1", 3.0), ("2025-26", "B2", 4.0),
       ("2025-26", "B2", 4.0)]   # a repeated row stays repeated
NEW = [("2024-25", "A1", 1.0), ("2024-25", "A2", 2.0), ("2025-26", "B1", 5.0), ("2025-26", "B3", 6.0),
       ("2025-26", "B2", 4.0), ("2025-26", "B2", 4.0)]


def _hash(wh: Path) -> str:
    with duckdb.connect(str(wh), read_only=True) as con:
        return con.execute("select comment from duckdb_tables() where table_name = 'pupil_scores'").fetchone()[0]


@pytest.fixture()
def built(tmp_path):
    proj = _project(tmp_path)
    wh = tmp_path / "w" / "warehouse.duckdb"
    wh.parent.mkdir()
    _raw(wh, OLD)
    r = _dbt(proj, wh, None)
    assert r.returncode == 0, r.stdout
    return proj, wh


def test_replacing_the_named_years_equals_a_full_build_row_for_row_and_type_for_type(built, tmp_path):
    proj, wh = built
    _raw(wh, [("2024-25", "A1", 9.0), *NEW[1:]])    # 2024-25 changed too, but is not named
    r = _dbt(proj, wh, "2025-26")
    assert r.returncode == 0, r.stdout
    kept = _table(wh)

    # a full build from the same source, with 2024-25 as it was when last built
    fresh = tmp_path / "f" / "warehouse.duckdb"
    fresh.parent.mkdir()
    _raw(fresh, NEW)
    assert _dbt(proj, fresh, None).returncode == 0
    assert kept == _table(fresh)                     # rows (with repeats) and column types alike
    assert ("score_dec", "DECIMAL(9,2)") in kept[0] and ("pair", "VARCHAR[]") in kept[0]
    assert sorted(r[1] for r in kept[1] if r[0] == "2025-26") == ["B1", "B2", "B2", "B3"]

    assert _dbt(proj, wh, "*").returncode == 0      # every year: 2024-25 replaced as well
    assert [r[2] for r in _table(wh)[1] if r[1] == "A1"] == [13.5]


def test_changed_columns_rebuild_every_year_or_stop_a_narrowed_build(built, tmp_path):
    proj, wh = built
    _project(tmp_path, extra_column=", upn || '!' as tag")          # the model gains a column
    before = _table(wh)
    r = _dbt(proj, wh, "2025-26")
    assert r.returncode != 0 and "columns changed" in r.stdout
    assert _table(wh) == before                                     # the failed build changed nothing
    assert _dbt(proj, wh, None).returncode == 0                     # a full build makes it again
    types, rows = _table(wh)
    assert types[-1] == ("tag", "VARCHAR") and all(r[-1] == r[1] + "!" for r in rows)


CHECKS = Path(__file__).resolve().parents[2] / "dbt_project" / "tests" / "generic" / "td_checks.sql"


def _checks(proj: Path, unique: str, min_rows: int = 0, by_leaving_year: str | None = None) -> None:
    """td_checks on pupil_scores (by_leaving_year: the model's materialization unless given) and on
    pupil_totals, a plain table whose key has no leaving_year (never narrowed)."""
    (proj / "tests" / "generic").mkdir(parents=True, exist_ok=True)
    shutil.copy2(CHECKS, proj / "tests" / "generic" / CHECKS.name)
    flag = "" if by_leaving_year is None else f"            by_leaving_year: {by_leaving_year}\n"
    (proj / "models" / "pupil_scores.yml").write_text(
        "version: 2\nmodels:\n  - name: pupil_scores\n    data_tests:\n      - td_checks:\n          arguments:\n"
        f"{flag}            not_null: [score]\n            unique: [{unique}]\n"
        f"            min_rows: {min_rows}\n"
        "  - name: pupil_totals\n    data_tests:\n      - td_checks:\n          arguments:\n"
        "            unique: [upn]\n")


def _test(proj: Path, wh: Path, years: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "WH": str(wh), "DO_NOT_TRACK": "1", "DBT_TARGET_PATH": str(proj / "target"),
           "DBT_LOG_PATH": str(proj / "logs")}
    env.pop("DESTINATIONS_BUILD_LEAVING_YEARS", None)
    if years is not None:
        env["DESTINATIONS_BUILD_LEAVING_YEARS"] = years
    return subprocess.run([str(DBT), "test", "--profiles-dir", str(proj), "--project-dir", str(proj)],
                          env=env, capture_output=True, text=True)


def test_checks_of_a_model_built_by_year_read_the_years_built(tmp_path):
    """td_checks of a model materialized by_leaving_year (no argument: the model's config says so)
    checks only the leaving years a build names (the others are as the last successful build checked
    them); every year when none is named; min_rows counts every row; a uniqueness key without
    leaving_year stops a narrowed check instead of checking less. A plain table's checks (pupil_totals)
    and by_leaving_year: false are never narrowed."""
    proj = _project(tmp_path)
    (proj / "models" / "pupil_totals.sql").write_text(
        "{{ config(materialized='table') }}\nselect upn, count(*) as n from {{ source('raw', 'pupils') }} group by upn\n")
    wh = tmp_path / "w" / "warehouse.duckdb"
    wh.parent.mkdir()
    _raw(wh, [("2024-25", "A1", 1.0), ("2025-26", "B1", 3.0)])
    assert _dbt(proj, wh, None).returncode == 0
    _checks(proj, "[leaving_year, upn]", min_rows=2)
    assert _test(proj, wh, None).returncode == 0
    assert _test(proj, wh, "2025-26").returncode == 0
    with duckdb.connect(str(wh)) as con:      # a repeated pupil and a null score, both in 2024-25
        con.execute("insert into main.pupil_scores (leaving_year, upn, score) values ('2024-25', 'A1', null)")
    every = _test(proj, wh, None)
    assert every.returncode != 0 and "unique: leaving_year, upn" in every.stdout + (proj / "logs" / "dbt.log").read_text()
    assert _test(proj, wh, "*").returncode != 0
    assert _test(proj, wh, "2024-25").returncode != 0
    assert _test(proj, wh, "2025-26").returncode == 0            # 2025-26 alone is clean
    _checks(proj, "[leaving_year, upn]", min_rows=2, by_leaving_year="false")
    assert _test(proj, wh, "2025-26").returncode != 0            # not narrowed: 2024-25's repeat counts
    _checks(proj, "[leaving_year, upn]", min_rows=2)
    with duckdb.connect(str(wh)) as con:
        con.execute("insert into main.pupil_scores (leaving_year, upn, score) values ('2025-26', 'B1', 3.0)")
    assert _test(proj, wh, "2025-26").returncode != 0            # a repeat in the year built is caught
    with duckdb.connect(str(wh)) as con:
        con.execute("delete from main.pupil_scores where score is null or leaving_year = '2025-26'")
    _checks(proj, "[leaving_year, upn]", min_rows=1)
    assert _test(proj, wh, "2025-26").returncode == 0            # no 2025-26 rows, but 1 row in all
    _checks(proj, "[leaving_year, upn]", min_rows=2)
    assert _test(proj, wh, "2025-26").returncode != 0            # min_rows 2 counts every year: 1 row
    _checks(proj, "upn")
    narrowed = _test(proj, wh, "2025-26")
    assert narrowed.returncode != 0 and "has no leaving_year" in narrowed.stdout
    assert _test(proj, wh, None).returncode == 0                 # unnarrowed, the key is checked whole


def test_content_hash_recorded_by_year_is_the_whole_tables(tmp_path):
    proj = _project(tmp_path, hashed=True)
    wh = tmp_path / "w" / "warehouse.duckdb"
    wh.parent.mkdir()
    _raw(wh, OLD)
    assert _dbt(proj, wh, None).returncode == 0
    before = _hash(wh)
    _raw(wh, NEW)
    r = _dbt(proj, wh, "2025-26")
    assert r.returncode == 0, r.stdout
    fresh = tmp_path / "f" / "warehouse.duckdb"
    fresh.parent.mkdir()
    _raw(fresh, NEW)
    assert _dbt(proj, fresh, None).returncode == 0
    # 2025-26 replaced (B2 still twice): rows, sum and columns as a whole-table pass gives them
    assert _hash(wh) == _hash(fresh) != before
    assert _hash(wh).startswith(f"{HASH_COMMENT}6:") and ",pair:VARCHAR[]," in _hash(wh)

    # the hash is carried from the previous one: a previous hash off by 5 stays off by 5
    rows, total, columns = _hash(wh)[len(HASH_COMMENT):].split(":", 2)
    with duckdb.connect(str(wh)) as con:
        con.execute(f"comment on table main.pupil_scores is '{HASH_COMMENT}{rows}:{int(total) + 5}:{columns}'")
    assert _dbt(proj, wh, "2025-26").returncode == 0
    assert _hash(wh) == f"{HASH_COMMENT}{rows}:{int(total) + 5}:{columns}"
    # no readable previous hash: the table is hashed whole
    with duckdb.connect(str(wh)) as con:
        con.execute("comment on table main.pupil_scores is 'a description'")
    assert _dbt(proj, wh, "2025-26").returncode == 0
    assert _hash(wh) == _hash(fresh)
