"""Checking many returns in one frame gives each file exactly what it gets alone.

A load checks the row rules of all new files of a partition together (`check_rows`), then gives each
file its file-level verdict in submission order (`finish`). Here every file carries planted defects of
its own (every row rule, the per-rule cap of 200 with its closing line, cross-academy pupils as row
errors and as a rejection, earlier rounds, a file much smaller than the current return), next to clean
files, and each file in the batch (one frame, and frames of a few files) must equal the file validated
alone: problem for problem (rule, row, column, value, message, order), row for row, counts, conflicts
and changes.
"""
from __future__ import annotations

import random
from dataclasses import replace

import polars as pl

from pipelines.lib.intake.cells import parse_date, parse_dates
from pipelines.lib.returns.reader import read_return
from pipelines.lib.returns.validate import ValidationContext, check_rows, finish, validate_batch, validate_return
from tests.returns.helpers import corpus

C = corpus()
OTHER = {C.upn(i, estab=4002): "100002" for i in range(40)}
MIS = {"upn": "Unique Pupil Number", "year_group": "NC Year", "sex": "Gender", "disadvantaged": "Pupil Premium",
       "sen_provision": "SEN Status", "destination_code": "Activity Code", "level": "Course Level"}


def _ctx(**kw) -> ValidationContext:
    return ValidationContext(**{"academy_urn": "100001", "leaving_year": "2024-25", "round_id": "R1", **kw})


def _many(n: int, **changes) -> list[dict]:
    return [dict(r, **changes) for r in C.pupils(n)]


def _files() -> list[tuple[bytes, str, ValidationContext]]:
    p = C.pupils
    with_other = p(30)
    for i in range(3):
        with_other[i * 5]["upn"] = C.upn(i, estab=4002)
    half_other = p(20)
    for i in range(8):
        half_other[i]["upn"] = C.upn(10 + i, estab=4002)
    caps = _many(260, level="A-level", route="nowhere", provider="=cmd()", provider_id="x" * 250,
                 date_ascertained="31/02/2025")
    for i in range(0, 260, 2):
        caps[i]["sex"] = "X"                  # 130 invalid sex + 130 invalid year groups: one capped rule
        caps[i + 1]["year_group"] = "10"
    dates = p(40)
    forms = ["2025-10-01", "01/10/2025", "1/10/2025", "01-10-2025", "01.10.2025", "2025/10/01", "01/10/25",
             "1 October 2025", "1 Oct 2025", "45930", "2025-10-01T08:30:00", "31/04/2025", "garbage", "0999-01-01"]
    for i, r in enumerate(dates):
        r["date_ascertained"] = forms[i % len(forms)]
    actual = p(12, round_kind="actual")
    actual[2]["destination_code"] = "UND"
    actual[5]["upn"] = C.upn(77)
    files = [
        (C.to_csv(p(30)), "clean.csv", _ctx()),
        (C.to_csv(C._with(3, upn=C._bad_check_letter())), "check_letter.csv", _ctx()),
        (C.to_csv(C._with(2, upn=C.upn(2)[:12])), "short_upn.csv", _ctx()),
        (C.to_csv(C._with(6, upn=C.upn(1))), "duplicate.csv", _ctx()),
        (C.to_csv(C._with(0, upn=C._temp_upn())), "temporary.csv", _ctx()),
        (C.to_csv(C._with(1, sex="", upn="")), "missing.csv", _ctx()),
        (C.to_csv(C._with(4, destination_code="120")), "pre16.csv", _ctx()),
        (C.to_csv(C._with(3, destination_code="999")), "unknown_code.csv", _ctx()),
        (C.to_csv(C._with(5, sen_provision="S", disadvantaged="maybe")), "coded.csv", _ctx()),
        (C.to_csv(C._with(2, provider='=HYPERLINK("x")', pupil_name="@Ann", level="A-level")), "formula.csv", _ctx()),
        (C.to_csv(_many(8, provider="p" * 230, pupil_name="n" * 230)), "long_text.csv", _ctx()),
        (C.to_csv(C._renamed(C._with(1, sen_provision="Statemented", level="9x"), MIS), list(MIS.values()),
                  title_rows=["MIS export"]), "mis_headers.csv", _ctx()),
        (C.to_csv(p(), C.COLUMNS + ["Tutor group"]), "unknown_column.csv", _ctx()),
        (C.to_xlsx(C._with(3, upn=C._bad_check_letter()), title_rows=["Oak Hill"]), "titles.xlsx", _ctx()),
        (C.to_csv(with_other), "three_of_another.csv", _ctx(other_academy_upns=OTHER)),
        (C.to_csv(half_other), "half_of_another.csv", _ctx(other_academy_upns=OTHER)),
        (C.to_csv(caps), "caps.csv", _ctx()),
        (C.to_csv(dates), "dates.csv", _ctx()),
        (C.to_csv([dict(r, sex="X") if i < 3 else r for i, r in enumerate(p())]), "too_many_invalid.csv", _ctx()),
        (C.to_csv(p(8)), "much_smaller.csv", _ctx(current_rows=40)),
        (C.to_csv(p(8)), "confirmed_smaller.csv", _ctx(current_rows=40, confirmed_smaller=True)),
        (C.to_csv(actual), "actual.csv", _ctx(round_id="R3", round_kind="actual", previous_round_id="R2",
                                              intended_upns={C.upn(i) for i in range(12)},
                                              previous_round={**{C.upn(i): "230" for i in range(12)},
                                                              **{C.upn(300 + i): "210" for i in range(230)}})),
        (C.to_csv(p(8)), "unknown_academy.csv", _ctx(academy_urn="999999", academy_in_register=False)),
        (C.to_csv(p(8)), "unknown_round.csv", _ctx(round_id="R9", round_kind="unknown")),
        (C.to_csv(p(30)), "too_many_rows.csv", _ctx(max_pupils=20)),
        (b"", "empty.csv", _ctx()),
        (C.to_csv([]), "header_only.csv", _ctx()),
    ]
    return files


def _items():
    return [(read_return(data, name), ctx, name) for data, name, ctx in _files()]


def _same(a, b, name: str) -> None:
    assert a.problems == b.problems, name
    assert a.frame.equals(b.frame), name
    assert (a.rows_total, a.rows_accepted, a.rows_rejected, a.counts, a.conflicts, a.status) == \
           (b.rows_total, b.rows_accepted, b.rows_rejected, b.counts, b.conflicts, b.status), name
    assert (a.changes is None) == (b.changes is None), name
    if a.changes is not None:
        assert (a.changes.added, a.changes.removed, a.changes.changed) == \
               (b.changes.added, b.changes.removed, b.changes.changed), name


def test_each_file_of_a_batch_gets_what_it_gets_alone():
    items = _items()
    together = validate_batch(items)
    alone = [validate_return(read, replace(ctx), name) for read, ctx, name in items]
    for (_, _, name), a, b in zip(items, together, alone):
        _same(a, b, name)
    # a few files per frame (as a load splits a large partition) changes nothing either
    chunked = [finish(c, ctx, name) if not hasattr(c, "status") else c
               for k in range(0, len(items), 4)
               for c, (_, ctx, name) in zip(check_rows(items[k:k + 4]), items[k:k + 4])]
    for (_, _, name), a, b in zip(items, chunked, alone):
        _same(a, b, name)

    # the planted defects were found
    got = {name: r for (_, _, name), r in zip(items, together)}
    rules = {(p.severity, p.rule) for r in together for p in r.problems}
    for rule in [("error", "upn_check_letter"), ("error", "upn_format"), ("error", "upn_duplicate"),
                 ("warning", "upn_temporary"), ("error", "missing_value"), ("error", "pre16_code"),
                 ("error", "unknown_destination_code"), ("error", "invalid_value"), ("warning", "invalid_value"),
                 ("warning", "formula_injection"), ("warning", "value_shortened"), ("warning", "unknown_column"),
                 ("error", "upn_other_academy"), ("file", "many_other_academy_pupils"),
                 ("file", "too_many_invalid_rows"), ("file", "much_smaller_than_current"),
                 ("error", "undecided_in_actual_round"), ("warning", "not_in_intended_rounds"),
                 ("warning", "pupil_vanished"), ("file", "unknown_academy"), ("file", "unknown_round"),
                 ("file", "too_many_rows"), ("file", "file_empty"), ("file", "no_rows")]:
        assert rule in rules, rule
    assert got["clean.csv"].status == "accepted" and got["clean.csv"].rows_accepted == 30
    assert got["confirmed_smaller.csv"].status == "accepted"
    three = got["three_of_another.csv"]
    assert three.rows_rejected == 3 and [c[2] for c in three.conflicts] == ["100002"] * 3
    assert all("another academy of the trust" in p.message and "100002" not in p.message
               for p in three.problems if p.rule == "upn_other_academy")
    assert got["half_of_another.csv"].status == "rejected" and len(got["half_of_another.csv"].conflicts) == 8
    caps = got["caps.csv"].problems
    invalid = [p for p in caps if p.severity == "error" and p.rule == "invalid_value"]
    assert len(invalid) == 201 and invalid[-1].row is None and "and 60 more row(s)" in invalid[-1].message
    assert invalid[-1].column == "sex"        # the closing line names the last column that overflowed
    assert sum(p.rule == "formula_injection" for p in caps) == 201
    mis = [p for p in got["mis_headers.csv"].problems if p.rule == "invalid_value"]
    assert [(p.column, p.message.split(" must")[0]) for p in mis] == [("SEN Status", "'SEN Status'"),
                                                                      ("Course Level", "'Course Level'")]
    vanished = [p for p in got["actual.csv"].problems if p.rule == "pupil_vanished"]
    assert len(vanished) == 201 and "and 31 more" in vanished[-1].message
    dates = got["dates.csv"]             # 31/04/2025 (3 rows) and garbage (2 rows) refused, the rest read
    assert dates.frame["date_ascertained"].null_count() == 5 and dates.warnings == 5


def test_parse_dates_equals_parse_date():
    rng = random.Random(5)
    years, days = ["2025", "2024", "0999", "1000", "9999", "25", "69", "68", "20251"], ["01", "1", "31", "29", "00", "13", "02"]
    seps, tails = ["-", "/", ".", " ", "--", ""], ["", "T08:30:00", " 12:00", "T", "Z", " ", ".0", "T25:99:00"]
    months = ["10", "1", "02", "13", "00", "October", "Oct", "oct", "Sept"]
    values = []
    for _ in range(4000):
        y, m, d, s1 = rng.choice(years), rng.choice(months), rng.choice(days), rng.choice(seps)
        s2 = s1 if rng.random() < 0.8 else rng.choice(seps)
        body = rng.choice([f"{y}{s1}{m}{s2}{d}", f"{d}{s1}{m}{s2}{y}", str(rng.randint(0, 99999))])
        values.append(body + rng.choice(tails) if rng.random() < 0.3 else body)
    got = parse_dates(pl.Series("d", values, dtype=pl.Utf8)).to_list()
    assert got == [parse_date(v) for v in values]
    assert sum(v is not None for v in got) > 500


def test_cells_of_many_files_cleaned_at_once_equal_each_file_read_alone():
    from pipelines.lib.returns.reader import clean_reads

    blanky = (C.to_csv(C.pupils(4), C.COLUMNS + ["Notes"]).decode()
              + ",,,,,,,,,,,,,,,,,only a note\r\n" + " , ,\u00a0,,,,,,,,,,,,,,,\r\n"
              + f"\u00a0{C.upn(9)} ,11, M ,N,N,210,,,,,,,,,,,\r\n").encode()
    spaces_only = (C.to_csv([], C.COLUMNS) + b" , ,\xc2\xa0\r\n,,\r\n")
    files = [(data, name) for data, name, _ in _files()] + [(blanky, "blank_rows.csv"),
                                                           (spaces_only, "spaces_only.csv")]
    alone = [read_return(data, name) for data, name in files]
    together = [read_return(data, name, clean=False) for data, name in files]
    clean_reads(together)
    for (_, name), a, b in zip(files, alone, together):
        assert a.problems == b.problems and a.headers == b.headers, name
        assert (a.table is None and b.table is None) or a.table.equals(b.table), name
    got = {name: r for (_, name), r in zip(files, together)}
    assert got["blank_rows.csv"].table["__row"].to_list() == [2, 3, 4, 5, 8]     # blank and note-only rows dropped
    assert got["blank_rows.csv"].table["upn"][-1] == C.upn(9)
    assert got["spaces_only.csv"].table is None and got["spaces_only.csv"].problems[-1].rule == "no_rows"
