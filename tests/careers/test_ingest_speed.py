"""The FSQ ingest's shortcuts give the answers of the plain way: values mapped once per distinct
value; each file's row names its own feedback page."""
from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

import pipelines.config as cfg
from pipelines.lib.careers.fsq import _per_distinct, _upper_trimmed
from pipelines.lib.careers.landing import land
from pipelines.lib.upn import make_upn
from tests.careers.conftest import write_register
from tests.careers.handmade import academies

TODAY = date(2026, 11, 25)


def test_per_distinct_is_the_expression_on_every_row():
    raw = pl.Series("upn_raw", ["a123", " B456 ", None, "C789", "a123", "ck01\u00a0", "C789", "", " B456 "])
    expected = raw.to_frame().select(_upper_trimmed(pl.col("upn_raw"))).to_series()
    got = _per_distinct(raw, _upper_trimmed)
    assert got.to_list() == expected.to_list() and got.dtype == expected.dtype
    clean = pl.Series("item_raw", ["CK01", None, "ES04", "CK01"])
    assert _per_distinct(clean, _upper_trimmed).to_list() == ["CK01", None, "ES04", "CK01"]


def test_lower_case_and_padded_answers_land_as_if_typed_cleanly(tmp_path):
    write_register(tmp_path, academies())
    paths = cfg.paths(tmp_path)
    upns = [make_upn(352, 4001, 13, k) for k in range(4)]
    rows = [(u.lower() if k % 2 else u, " ck01 " if k < 2 else "CK01", "Agree") for k, u in enumerate(upns)]
    f = paths.fsq / "140001" / "2024-25" / "fsq.csv"
    f.parent.mkdir(parents=True)
    f.write_text("upn,year_group,survey_date,item_id,response\n"
                 + "".join(f'"{u}",11,2024-10-10,"{i}",{r}\n' for u, i, r in rows))
    paths.warehouse_dir.mkdir(parents=True)
    con = duckdb.connect(str(paths.warehouse))
    res = land("fsq", paths, con, today=TODAY)
    assert res[0].status == "accepted"
    assert con.execute("select upn, item_id from raw.fsq_responses order by source_row").fetchall() == [
        (u, "CK01") for u in upns]
    con.close()


def test_every_file_row_names_its_own_feedback_page(tmp_path):
    write_register(tmp_path, academies())
    paths = cfg.paths(tmp_path)
    upns = [make_upn(352, 4001, 13, k) for k in range(3)]
    for k, urn in enumerate(["140001", "140002", "140003"] * 3):
        f = paths.fsq / urn / "2024-25" / f"fsq{k}.csv"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("upn,year_group,survey_date,item_id,response\n"
                     + "".join(f"{u},11,2024-10-{10 + k},CK01,Agree\n" for u in upns)
                     + ("" if k % 3 else "XX,11,2024-10-10,CK01,Agree\n"))   # some files with an error
    paths.warehouse_dir.mkdir(parents=True)
    con = duckdb.connect(str(paths.warehouse))
    res = land("fsq", paths, con, today=TODAY)
    assert len(res) == 9
    for source, page, status in con.execute(
            "select source_file, feedback_file, status from raw.careers_files").fetchall():
        assert page == "feedback/" + source[len("raw/"):] + ".feedback.html"
        text = (paths.root / page).read_text()
        assert source in text and ("ACCEPTED with problems" in text) == (status == "accepted_with_problems")
    con.close()
