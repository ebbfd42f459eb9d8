import duckdb
import polars as pl

from pipelines.lib.publish import publish_tables


def test_publish_is_atomic_and_complete(tmp_path):
    wh = tmp_path / "w.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("create schema marts; create table marts.a as select range as x from range(5)")
    con.close()
    serving = tmp_path / "serving"
    serving.mkdir()
    (serving / "a.parquet").write_text("old, unreadable")
    rows = publish_tables(wh, serving, ["a", "not_built"])
    assert rows == {"a": 5}
    assert pl.read_parquet(serving / "a.parquet")["x"].to_list() == [0, 1, 2, 3, 4]
    assert not list(serving.glob(".*tmp"))
    assert (serving / "_manifest.json").exists()
