import pytest

from pipelines.lib.upn import check_letter, is_temporary, make_upn, upn_problem


def test_worked_example_from_dfe_guide():
    # research/domain.md §3.1: 801200005001 -> sum 93, 93 mod 23 = 1 -> B
    assert check_letter("801200005001") == "B"
    assert upn_problem("B801200005001") is None


def test_wrong_letter_names_the_right_one():
    msg = upn_problem("C801200005001")
    assert msg and "should be B" in msg


@pytest.mark.parametrize("bad,words", [("", "missing"), ("B80120000500", "13 characters"),
                                       ("I801200005001", "check letter"), ("B80120000X001", "digits")])
def test_malformed(bad, words):
    assert words in upn_problem(bad)


def test_temporary_upn_letter_takes_its_index():
    body = "80120000500A"
    upn = check_letter(body) + body
    assert upn_problem(upn) is None and is_temporary(upn)


def test_make_upn_round_trip():
    u = make_upn(352, 4001, 19, 7)
    assert len(u) == 13 and upn_problem(u) is None and u[1:4] == "352"


def test_the_column_rule_for_temporary_upns_agrees_with_is_temporary():
    import polars as pl

    from pipelines.lib.upn import is_temporary_expr
    upns = ["A12345678901B", "A123456789012", "A12345678901", "A12345678901BC", "A12345678901é", "A1234567890\nB"]
    got = pl.DataFrame({"u": upns}).select(is_temporary_expr(pl.col("u")))["u"].to_list()
    assert got == [is_temporary(u) for u in upns] == [True, False, False, False, True, True]
