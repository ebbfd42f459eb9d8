"""neet_risk_pupils is rebuilt per leaving year (macros/by_leaving_year.sql): a build that names
one leaving year replaces that year's rows with what a full build gives and keeps every other
year's rows as they were."""
from __future__ import annotations

import shutil

from tests.marts.helpers import academy, load_raw, pupil_row, query, run_dbt

YEARS = ("2024-25", "2025-26")
COLUMNS = "leaving_year, academy_urn, upn, pupil_name, risk_score, risk_factors, reasons, is_flagged"


def _pupils(sen: dict[str, str], suffix: str = "") -> list[dict]:
    """Intended (R1) rows only, so every pupil is current; SEN codes by UPN; names end in `suffix`."""
    rows = []
    for year in YEARS:
        for i, code in enumerate(("210", "540", "220")):
            upn = f"A{year[:4]}{i:07d}"
            rows.append(pupil_row(academy_urn="100001", leaving_year=year, round="R1", upn=upn, source_row=i + 1,
                                  destination_code=code, september_guarantee="offer_made", pupil_name=f"P{i}{suffix}",
                                  sen_provision=sen.get(upn, "N"), source_file=f"r1-{year}.csv"))
    return rows


def _rows(warehouse, year: str) -> list[tuple]:
    return sorted(query(warehouse, f"select {COLUMNS} from marts.neet_risk_pupils where leaving_year = ?",
                        [year]).rows())


def test_one_named_year_equals_a_full_build_and_other_years_are_kept(tmp_path, monkeypatch):
    wh = tmp_path / "narrow" / "warehouse.duckdb"
    load_raw(wh, _pupils({}), [academy("100001")])
    monkeypatch.delenv("DESTINATIONS_BUILD_LEAVING_YEARS", raising=False)
    run_dbt(wh, "seed")
    run_dbt(wh, "run", "--select", "+neet_risk_pupils")
    before = {y: _rows(wh, y) for y in YEARS}
    assert all(before.values())

    # an EHC plan recorded for one pupil in each year and every name changed (the names are read
    # straight from the returns, not through a model kept per year); only 2025-26 is named
    changed = _pupils({"A20240000000": "E", "A20250000000": "E"}, suffix="'")
    load_raw(wh, changed, [academy("100001")])
    full = tmp_path / "full" / "warehouse.duckdb"
    full.parent.mkdir()
    shutil.copy2(wh, full)
    monkeypatch.setenv("DESTINATIONS_BUILD_LEAVING_YEARS", "2025-26")
    run_dbt(wh, "run", "--select", "+neet_risk_pupils")
    monkeypatch.delenv("DESTINATIONS_BUILD_LEAVING_YEARS")
    run_dbt(full, "run", "--select", "+neet_risk_pupils")

    assert _rows(wh, "2025-26") == _rows(full, "2025-26") != before["2025-26"]
    assert _rows(wh, "2024-25") == before["2024-25"] != _rows(full, "2024-25")
    assert query(wh, "select table_type from information_schema.tables where table_schema = 'marts' "
                     "and table_name = 'neet_risk_pupils'").rows() == [("BASE TABLE",)]
