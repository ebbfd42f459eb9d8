"""Disclosure control in the pack: nothing under the threshold, nothing recoverable, no UPNs."""
from __future__ import annotations

import re
from collections import defaultdict

import pytest

from tests.report import fixture_data
from tests.report.helpers import table_rows
from pipelines.lib.report.disclosure import find_recoverable, load_destination_figures, primary_suppressed

UPN_RE = re.compile(r"[A-Z]\d{12}|[A-Z]\d{11}[A-Z]")
PCT_COLS = {"EET %": "positive", "Educ. %": "education", "Appr. %": "apprenticeship", "Empl. %": "employment",
            "Train. %": "training", "NEET %": "neet", "NK %": "not_known"}
HIDDEN = "c"


def _dest(built, ks):
    header, rows = table_rows(built.sheets[f"Destinations {ks}"])
    return {(r[0], r[1]): dict(zip(header, r)) for r in rows}


def _appendix(built):
    header, rows = table_rows(built.sheets["Academy appendix"])
    out = defaultdict(dict)
    for r in rows:
        rec = dict(zip(header, r))
        out[(rec["Key stage"], rec["Sub-group"])][rec["URN"]] = rec
    return out


def _one_hidden(values) -> bool:
    return sum(1 for v in values if v == HIDDEN) == 1


@pytest.fixture(params=["published", "unpublished"])
def pack(request, built, built_unpublished):
    return built if request.param == "published" else built_unpublished


@pytest.mark.parametrize("ks", ["KS4", "16-18"])
def test_no_cell_for_a_small_cohort_or_small_count(pack, ks):
    for (topic, b), rec in _dest(pack, ks).items():
        mart = pack.mart("trust", None, ks, topic, b)
        if 0 < mart["cohort"] < 6:
            assert all(rec[c] == HIDDEN for c in ["Leavers", *PCT_COLS, "Other %", "Diff. pp"]), rec
        for col, m in PCT_COLS.items():
            if rec[col] not in (HIDDEN, "z"):
                assert not primary_suppressed(mart[m], mart["cohort"]), (b, col, mart[m], mart["cohort"])
    for key, by_urn in _appendix(pack).items():
        for urn, rec in by_urn.items():
            if isinstance(rec["Leavers"], (int, float)):
                assert rec["Leavers"] >= 6, rec


def test_every_sheet_has_no_cohort_under_threshold(pack):
    for name, sheet in pack.sheets.items():
        if name in ("Summary", "Methods"):
            continue
        header, rows = table_rows(sheet)
        for col in ("Leavers", "Number", "Pupils", "Base", "Leavers (nearest 10)"):
            if col in header:
                j = header.index(col)
                for r in rows:
                    assert not (isinstance(r[j], (int, float)) and 0 < r[j] < 6), (name, r)


@pytest.mark.parametrize("ks", ["KS4", "16-18"])
def test_no_suppressed_cell_recoverable_from_totals(pack, ks):
    dest = _dest(pack, ks)
    cols = ["Leavers", *PCT_COLS, "Other %"]
    topics = defaultdict(list)
    for (topic, b) in dest:
        if topic != "Total":
            topics[topic].append(b)
    total = dest[("Total", "Total")]
    for topic, parts in topics.items():  # a total and its parts
        for col in cols:
            assert not _one_hidden([total[col]] + [dest[(topic, b)][col] for b in parts]), (topic, col)
    for d in ("Disadvantaged", "Not disadvantaged"):  # cross-classification
        for col in cols:
            assert not _one_hidden([dest[("Disadvantage", d)][col]]
                                   + [dest[("Disadvantage and sex", f"{d} {s}")][col] for s in ("Female", "Male")])
    for rec in dest.values():  # within a row
        assert not _one_hidden([rec[c] for c in ("EET %", "NEET %", "NK %", "Other %")]), rec
        assert not _one_hidden([rec[c] for c in ("EET %", "Educ. %", "Appr. %", "Empl. %", "Train. %")]), rec
    # academies against the trust
    short = {"KS4": "KS4", "16-18": "16-18"}[ks]
    for (k, b), by_urn in _appendix(pack).items():
        if k != short:
            continue
        trust = next(rec for (t, bb), rec in dest.items() if bb == b)
        for col in cols:
            assert not _one_hidden([trust[col]] + [rec[col] for rec in by_urn.values()]), (b, col)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_secondary_suppression_leaves_nothing_recoverable(seed):
    rows = fixture_data.destination_rows(seed, ("R3",))
    for published in (True, False):
        src = fixture_data.publish_like(rows) if published else rows
        figs = load_destination_figures(src, fixture_data.YEAR, "R3", published)
        assert find_recoverable(figs) == []
        for rk, row in figs.rows.items():
            cohort = row["cohort"]
            if not cohort.suppressed and cohort.count:
                assert cohort.count >= 6
            for m, f in row.items():
                if not f.suppressed and m != "cohort":
                    assert not primary_suppressed(f.count, cohort.count), (rk, m)


def test_withheld_in_published_mart_stays_withheld():
    rows = fixture_data.destination_rows(3, ("R3",))
    pub = fixture_data.publish_like(rows)
    figs = load_destination_figures(pub, fixture_data.YEAR, "R3", True)
    for r in pub:
        key = (r["level"], r["academy_urn"], r["key_stage"], "R3", r["breakdown_topic"], r["breakdown"])
        for m in ("positive", "neet", "not_known", "education"):
            if r[m] is None:
                assert figs.rows[key][m].suppressed


def test_no_upn_or_pupil_name_anywhere(built):
    assert not UPN_RE.search(built.text)
    for name, sheet in built.sheets.items():
        for row in sheet:
            for v in row:
                if isinstance(v, str):
                    assert not UPN_RE.search(v), (name, v)
                    assert "Zebedee" not in v and "Quartermaine" not in v
    for word in ("Zebedee", "Quartermaine", "Xanthe", "Oddbody"):
        assert word not in built.text
    assert "neet_risk" not in built.text.lower()


def test_rule_explained_wherever_c_shown(built):
    for name, sheet in built.sheets.items():
        if any(v == "c" for r in sheet for v in r):
            notes = " ".join(str(v) for r in sheet for v in r if isinstance(v, str))
            assert "c = withheld" in notes or "c =" in notes, name
    assert "fewer than 6 leavers" in built.text
