"""fsq_construct_scores and its published twin rebuilt for the pupils whose sub-groups changed
(macros/by_changed_pupils.sql): after a correction that moves pupils between sub-groups (sex,
disadvantage, SEN; one pupil's latest return row removed), a build that names the corrected
leaving year rebuilds only the survey slices those pupils were surveyed in and gives every row
(and the recorded content hash) a build from scratch gives; a rebuild of the characteristics
whole, or changed FSQ answers built as every build outside `destinations run` is, rebuilds every
slice. Real dbt on the generated demo trust (tests/marts/conftest.py)."""
from __future__ import annotations

import re
import shutil

import duckdb

from tests.marts.helpers import run_dbt

MODELS = ("fsq_construct_scores", "fsq_construct_scores_published")
CHAIN = ("int_careers__pupil_characteristics", "fsq_construct_scores", "int_disclosure__cells",
         "fsq_construct_scores_published")
CHANGES = "intermediate.int_careers__pupil_characteristics_changes"


def _copy(demo_warehouse, tmp_path, name: str):
    wh = tmp_path / name / "warehouse.duckdb"
    wh.parent.mkdir()
    shutil.copy2(demo_warehouse[0], wh)
    return wh


def _build(wh, monkeypatch, years: str | None, *models: str) -> None:
    if years is None:
        monkeypatch.delenv("DESTINATIONS_BUILD_LEAVING_YEARS", raising=False)
    else:
        monkeypatch.setenv("DESTINATIONS_BUILD_LEAVING_YEARS", years)
    try:
        run_dbt(wh, "run", "--select", *models)
    finally:
        monkeypatch.delenv("DESTINATIONS_BUILD_LEAVING_YEARS", raising=False)


def _rows(wh, model: str) -> list[str]:
    """Every row as its repr (NaN equals NaN), doubles to 9 dp, sorted."""
    with duckdb.connect(str(wh), read_only=True) as con:
        rows = con.execute(f"select * from marts.{model}").fetchall()
    return sorted(repr(tuple(round(v, 9) if isinstance(v, float) else v for v in r)) for r in rows)


def _hashes_exact(wh) -> None:
    """The content hash each build recorded (from the previous one, by slice) is the whole table's."""
    with duckdb.connect(str(wh), read_only=True) as con:
        for m in MODELS:
            recorded = con.execute("select comment from duckdb_tables() where schema_name = 'marts' "
                                   "and table_name = ?", [m]).fetchone()[0].split(" ", 1)[1].split(":")[:2]
            whole = con.execute(f"select cast(count(*) as varchar) || ':' || "
                                f"cast(coalesce(sum(hash(t)::hugeint), 0) as varchar) from marts.{m} t").fetchone()[0]
            assert ":".join(recorded) == whole, m


def _listed(wh) -> list:
    with duckdb.connect(str(wh), read_only=True) as con:
        return sorted((r[0] for r in con.execute(f"select upn from {CHANGES}").fetchall()), key=str)


def _correct(wh) -> tuple[str, list[str]]:
    """A corrected return of the latest leaving year: pupils surveyed by FSQ change sex,
    disadvantage and SEN, and one pupil's row goes (their sub-groups fall back to an earlier
    return, or Unknown). Returns the year and the pupils whose sub-groups changed."""
    with duckdb.connect(str(wh)) as con:
        year = con.execute("select max(leaving_year) from raw.destination_returns").fetchone()[0]
        upns = [r[0] for r in con.execute(
            "select distinct r.upn from raw.destination_returns r "
            "join intermediate.int_careers__pupil_characteristics c on upper(trim(r.upn)) = c.upn "
            "  and c.characteristics_leaving_year = r.leaving_year and c.characteristics_round = r.round "
            "where r.leaving_year = ? and r.upn in (select upn from intermediate.int_careers__fsq_pupil_surveys) "
            "order by 1 limit 6", [year]).fetchall()]
        assert len(upns) == 6, upns
        flip_sex, flip_disadvantage, flip_sen, gone = upns[:2], upns[2:4], upns[4:5], upns[5:]
        con.execute("update raw.destination_returns set sex = case sex when 'F' then 'M' else 'F' end "
                    "where leaving_year = ? and upn in (select unnest(?))", [year, flip_sex])
        con.execute("update raw.destination_returns set disadvantaged = not coalesce(disadvantaged, false) "
                    "where leaving_year = ? and upn in (select unnest(?))", [year, flip_disadvantage])
        con.execute("update raw.destination_returns set sen_provision = case sen_provision when 'E' then 'N' else 'E' end "
                    "where leaving_year = ? and upn in (select unnest(?))", [year, flip_sen])
        con.execute("delete from raw.destination_returns where leaving_year = ? and upn in (select unnest(?))",
                    [year, gone])
    return year, sorted(u.upper().strip() for u in upns)


def _moved(old, new) -> list[str]:
    """UPNs whose sub-groups differ between two warehouses' characteristics (either way)."""
    cols = "upn, sex_label, disadvantage_label, sen_provision_label"
    with duckdb.connect(str(new), read_only=True) as con:
        con.execute(f"attach '{old}' as old (read_only)")
        return sorted(r[0] for r in con.execute(
            f"select distinct upn from ((select {cols} from intermediate.int_careers__pupil_characteristics "
            f"except all select {cols} from old.intermediate.int_careers__pupil_characteristics) union all "
            f"(select {cols} from old.intermediate.int_careers__pupil_characteristics "
            f"except all select {cols} from intermediate.int_careers__pupil_characteristics))").fetchall())


def _slices(wh) -> set[str]:
    with duckdb.connect(str(wh), read_only=True) as con:
        return {r[0] for r in con.execute(
            "select distinct concat_ws('|', academic_year, survey_round, year_group) "
            "from intermediate.int_careers__fsq_pupil_surveys").fetchall()}


def _rebuilt_slices(wh) -> int | None:
    """How many slices the last build of fsq_construct_scores deleted and inserted (None: all)."""
    sql = next((wh.parent / "dbt_target" / "run").rglob("fsq_construct_scores.sql")).read_text()
    where = re.search(r'delete from \S+fsq_construct_scores" where (.*);', sql).group(1)
    return None if where.strip() == "true" else where.count("year_group =")


def test_a_correction_rebuilds_its_pupils_slices_as_a_build_from_scratch(demo_warehouse, tmp_path, monkeypatch):
    wh = _copy(demo_warehouse, tmp_path, "narrow")
    assert _listed(wh) == []            # the fixture's full build: the twin emptied the list
    before = {m: _rows(wh, m) for m in MODELS}
    year, moved = _correct(wh)
    scratch = _copy(demo_warehouse, tmp_path, "scratch")
    shutil.copy2(wh, scratch)

    _build(wh, monkeypatch, year, "int_careers__pupil_characteristics")
    assert _listed(wh) == _moved(demo_warehouse[0], wh) and set(_listed(wh)) <= set(moved)
    assert len(_listed(wh)) >= 4        # exactly the pupils whose sub-groups changed
    _build(wh, monkeypatch, year, *CHAIN[1:])
    assert _listed(wh) == []
    rebuilt = _rebuilt_slices(wh)
    assert rebuilt is not None and 0 < rebuilt < len(_slices(wh)), rebuilt   # some slices, not all
    _hashes_exact(wh)

    _build(scratch, monkeypatch, None, *CHAIN)
    for m in MODELS:
        assert _rows(wh, m) == _rows(scratch, m), m     # every row: a key too narrow would miss trust rows
    assert _rows(wh, "fsq_construct_scores") != before["fsq_construct_scores"]


def test_characteristics_rebuilt_whole_rebuild_every_slice(demo_warehouse, tmp_path, monkeypatch):
    wh = _copy(demo_warehouse, tmp_path, "whole")
    year, _ = _correct(wh)
    _build(wh, monkeypatch, None, "int_careers__pupil_characteristics")     # Dagster UI, a sensor
    assert _listed(wh) == [None]                                            # every pupil
    _build(wh, monkeypatch, year, *CHAIN[1:])
    assert _rebuilt_slices(wh) is None
    assert _listed(wh) == []
    _hashes_exact(wh)


def test_changed_fsq_answers_rebuild_every_slice(demo_warehouse, tmp_path, monkeypatch):
    """FSQ files changed: `destinations run` names no leaving years (runner.leaving_years_to_rebuild),
    so every slice is rebuilt, and equals a build from scratch."""
    from pipelines.runner import leaving_years_to_rebuild
    loads, built = {"2025-26/R3": "new"}, {"2025-26/R3": "old"}
    assert leaving_years_to_rebuild({"destination_returns", "fsq_responses"}, loads, built) is None
    assert leaving_years_to_rebuild({"destination_returns"}, loads, built) == ["2025-26"]

    wh = _copy(demo_warehouse, tmp_path, "answers")
    with duckdb.connect(str(wh)) as con:
        changed = con.execute("update raw.fsq_answers set is_positive = not is_positive where rowid % 7 = 0").fetchone()[0]
    assert changed > 0
    scratch = _copy(demo_warehouse, tmp_path, "answers_scratch")
    shutil.copy2(wh, scratch)
    chain = ("int_careers__fsq_pupil_surveys", "int_careers__fsq_pupil_constructs") + CHAIN
    _build(wh, monkeypatch, None, *chain)
    assert _rebuilt_slices(wh) is None
    _build(scratch, monkeypatch, None, *chain)
    for m in MODELS:
        assert _rows(wh, m) == _rows(scratch, m), m
