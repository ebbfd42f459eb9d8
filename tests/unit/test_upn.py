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
