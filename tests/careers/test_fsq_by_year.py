"""fsq_destination_linkage and fsq_destination_rates are rebuilt per leaving year
(macros/by_leaving_year.sql): a build that names one leaving year gives that year the rows a full
build gives, FSQ chosen by that year's own 31 August included, and keeps every other year's rows
as they were. Real dbt on the hand-made trust, with a second leaving year of the same pupils."""
from __future__ import annotations

import shutil

import duckdb
import pytest

from tests.careers.conftest import query, run_dbt

pytestmark = pytest.mark.slow

MODELS = ("fsq_destination_linkage", "fsq_destination_rates")
YEARS = ("2024-25", "2025-26")


def _copy(tiny_warehouse, tmp_path, name: str):
    root = tmp_path / name
    shutil.copytree(tiny_warehouse["root"], root)
    return root, root / tiny_warehouse["warehouse"].relative_to(tiny_warehouse["root"])


def _build(root, warehouse, monkeypatch, years: str | None) -> None:
    if years is None:
        monkeypatch.delenv("DESTINATIONS_BUILD_LEAVING_YEARS", raising=False)
    else:
        monkeypatch.setenv("DESTINATIONS_BUILD_LEAVING_YEARS", years)
    proc = run_dbt(root, warehouse, "run", "--select", *MODELS)
    monkeypatch.delenv("DESTINATIONS_BUILD_LEAVING_YEARS", raising=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def _rows(warehouse, model: str, year: str) -> list[tuple]:
    """The year's rows, doubles to 9 dp (as compare_marts.py: parallel sums differ in the last bit)."""
    rows = query(warehouse, f"select * from marts.{model} where leaving_year = ?", [year]).rows()
    return sorted((tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in rows), key=repr)


def test_one_named_year_equals_a_full_build_and_other_years_are_kept(tiny_warehouse, tmp_path, monkeypatch):
    root, wh = _copy(tiny_warehouse, tmp_path, "narrow")
    with duckdb.connect(str(wh)) as con:
        # the same leavers again a year later: their FSQ up to 31 August 2026 counts for 2025-26
        con.execute("insert into raw.destination_returns select * replace ('2025-26' as leaving_year) "
                    "from raw.destination_returns where leaving_year = '2024-25'")
    _build(root, wh, monkeypatch, None)
    before = {(m, y): _rows(wh, m, y) for m in MODELS for y in YEARS}
    assert all(before.values())
    assert before[("fsq_destination_linkage", "2024-25")] != before[("fsq_destination_linkage", "2025-26")]

    # every R3 leaver of both years NEET: only 2025-26 is named
    with duckdb.connect(str(wh)) as con:
        con.execute("update raw.destination_returns set destination_code = '640' where round = 'R3'")
    full_root, full = _copy(tiny_warehouse, tmp_path, "full")
    shutil.copy2(wh, full)
    _build(root, wh, monkeypatch, "2025-26")
    _build(full_root, full, monkeypatch, None)

    for m in MODELS:
        assert _rows(wh, m, "2025-26") == _rows(full, m, "2025-26") != before[(m, "2025-26")], m
        assert _rows(wh, m, "2024-25") == before[(m, "2024-25")] != _rows(full, m, "2024-25"), m
        assert query(wh, "select table_type from information_schema.tables where table_schema = 'marts' "
                         "and table_name = ?", [m]).rows() == [("BASE TABLE",)]
