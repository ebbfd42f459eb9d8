import pytest

from pipelines.lib.register import RegisterError, read_register

GOOD = "urn,name,la_code,phase,has_sixth_form,joined_trust,extra\n137001,Oak Academy,352,secondary,Y,2019-09-01,x\n"


def test_reads_good_register(tmp_path):
    p = tmp_path / "academies.csv"
    p.write_text(GOOD)
    df = read_register(p)
    assert df.row(0, named=True)["has_sixth_form"] is True
    assert str(df["joined_trust"][0]) == "2019-09-01"


@pytest.mark.parametrize("line,words", [
    ("13700,Oak,352,secondary,Y,2019-09-01,x", "not 6 digits"),
    ("137001,Oak,35,secondary,Y,2019-09-01,x", "3-digit LA"),
    ("137001,Oak,352,grammar,Y,2019-09-01,x", "phase"),
    ("137001,Oak,352,secondary,Yes,2019-09-01,x", "Y or N"),
    ("137001,Oak,352,secondary,Y,01/09/2019,x", "ISO date"),
])
def test_bad_rows_are_named(tmp_path, line, words):
    p = tmp_path / "academies.csv"
    p.write_text(GOOD.splitlines()[0] + "\n" + line + "\n")
    with pytest.raises(RegisterError, match="row 2") as e:
        read_register(p)
    assert words in str(e.value)


def test_missing_file_says_how_to_fix(tmp_path):
    with pytest.raises(RegisterError, match="columns urn, name"):
        read_register(tmp_path / "academies.csv")
