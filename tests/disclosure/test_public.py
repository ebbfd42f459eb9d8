"""The public statement's decision comes from the same engine: published-hidden cells stay
hidden, the public thresholds add their own, and measures never printed are folded so that the
printed ones cannot be subtracted from the leavers to find them."""
from __future__ import annotations

import polars as pl

from pipelines.lib.disclosure.public import statement_cells, statement_rows

COUNTS = ("cohort", "education", "school_sixth_form", "sixth_form_college", "further_education", "higher_education",
          "other_education", "apprenticeship", "employment", "training", "positive", "neet", "not_known", "other",
          "undecided", "excluded")


def _row(urn, ks, rnd="R3", kind="actual", order=3, **counts):
    r = {"level": "academy", "academy_urn": urn, "leaving_year": "2024-25", "key_stage": ks, "round": rnd,
         "round_kind": kind, "round_order": order, "breakdown_topic": "Total", "breakdown": "Total"}
    r.update({c: 0 for c in COUNTS})
    r.update(counts)
    return r


def _measures():
    return pl.DataFrame([
        # 40 KS4 leavers: 30 sixth form + 4 FE + 2 higher education (never printed after KS4) = 36 education;
        # 36 EET, 3 NEET, 1 excluded (never printed)
        _row("A", "KS4", cohort=40, education=36, school_sixth_form=30, further_education=4, higher_education=2,
             positive=36, neet=3, excluded=1),
        _row("A", "KS4", rnd="R1", kind="intended", order=1, cohort=40, undecided=40),   # not the statement round
        _row("B", "KS4", cohort=8, education=8, school_sixth_form=8, positive=8),         # under 10 leavers
    ])


def test_statement_rows_fold_what_is_never_printed():
    rows = statement_rows(_measures())
    assert rows["academy_urn"].to_list() == ["A", "B"] and set(rows["round"]) == {"R3"}
    a = rows.filter(pl.col("academy_urn") == "A").to_dicts()[0]
    assert a["unprinted_education"] == 2 and a["higher_education"] == 0 and a["unprinted_leavers"] == 1
    assert a["school_sixth_form"] + a["further_education"] + a["unprinted_education"] == a["education"]


def test_public_decision_keeps_published_hidden_and_protects_the_rest():
    published = pl.DataFrame({"mart": ["destination_measures"], "row_key": ["academy|A|2024-25|KS4|R3|Total|Total"],
                              "measure": ["neet"], "hidden": [True]})
    cells = statement_cells(_measures(), published, min_cohort=10, min_count=5)
    a = {r["measure"]: r for r in cells.filter(pl.col("academy_urn") == "A").iter_rows(named=True)}
    assert a["neet"]["hidden"] and a["neet"]["reason"] == "published"
    assert a["further_education"]["hidden"]                  # 4 < 5: public primary
    assert not a["higher_education"]["printed"] and not a["unprinted_leavers"]["printed"]
    assert a["cohort"]["printed"] and not a["cohort"]["hidden"]
    # a reader sees printed, shown cells only; in each within-row sum a hidden printed cell has
    # company (another cell the reader does not see), so subtraction cannot give it
    folded = {m for m, r in a.items() if not r["printed"] and not m.startswith("unprinted_")}   # now 0, in unprinted_*
    unseen = {m for m, r in a.items() if (r["hidden"] or not r["printed"]) and m not in folded}
    for whole, parts in (("education", ("school_sixth_form", "sixth_form_college", "further_education",
                                        "higher_education", "other_education", "unprinted_education")),
                         ("cohort", ("positive", "neet", "not_known", "other", "unprinted_leavers"))):
        members = {whole, *parts} & unseen
        if members & {m for m, r in a.items() if r["hidden"] and r["printed"]}:
            assert len(members) >= 2, (whole, members)
    b = cells.filter(pl.col("academy_urn") == "B")
    assert b.filter(pl.col("printed"))["hidden"].all()          # 8 leavers: nothing printed


def _years(flip: bool = False) -> pl.DataFrame:
    """Statement rows of three academies over three leaving years (KS4 and 16-18); `flip`: one
    academy's 2024-25 KS4 return corrected (four pupils from sixth form to NEET: 3 NEET, hidden, become 7)."""
    rows = []
    for y, year in enumerate(("2022-23", "2023-24", "2024-25")):
        for a, urn in enumerate(("A", "B", "C")):
            sf, fe, neet = 20 + a + y, 3 + a, 1 + y
            if flip and year == "2024-25" and urn == "B":
                sf, neet = sf - 4, neet + 4
            edu = sf + fe
            rows.append({**_row(urn, "KS4", cohort=edu + neet + 2, education=edu, school_sixth_form=sf,
                                further_education=fe, positive=edu, neet=neet, not_known=2), "leaving_year": year})
            rows.append({**_row(urn, "16-18", cohort=12 + a, education=8 + a, further_education=4, higher_education=4 + a,
                                positive=10 + a, employment=2, neet=1, other=1), "leaving_year": year})
    return pl.DataFrame(rows)


def test_a_rebuild_after_a_correction_equals_a_cold_build_and_recomputes_only_its_year(tmp_path, monkeypatch):
    from pipelines.lib.disclosure import engine

    published = pl.DataFrame({"mart": ["destination_measures"], "row_key": ["academy|C|2022-23|KS4|R3|Total|Total"],
                              "measure": ["neet"], "hidden": [True]})
    cache = tmp_path / "public.sqlite"
    before = statement_cells(_years(), published, min_cohort=10, min_count=5, cache_path=cache)
    assert before.equals(statement_cells(_years(), published, min_cohort=10, min_count=5))   # cached = cold
    built: list[set] = []
    real = engine.build_structure
    monkeypatch.setattr(engine, "build_structure",
                        lambda frames: built.append(set(frames["public_statement"]["leaving_year"])) or real(frames))
    after = statement_cells(_years(flip=True), published, min_cohort=10, min_count=5, cache_path=cache)
    assert built == [{"2024-25"}]                      # the corrected leaving year only
    monkeypatch.setattr(engine, "build_structure", real)
    cold = statement_cells(_years(flip=True), published, min_cohort=10, min_count=5)
    assert after.equals(cold) and not after.equals(before)
    # the correction moved B's 2024-25 figures; the other years' cells are the same as before
    key = ["academy_urn", "leaving_year", "key_stage", "measure"]
    changed = after.join(before, on=key, suffix="_before").filter(
        (pl.col("hidden") != pl.col("hidden_before")) | (pl.col("reason").ne_missing(pl.col("reason_before"))))
    assert set(changed["leaving_year"]) == {"2024-25"} and set(changed["academy_urn"]) == {"B"}
    assert after.filter(pl.col("leaving_year") == "2022-23", pl.col("academy_urn") == "C", pl.col("key_stage") == "KS4",
                        pl.col("measure") == "neet")["reason"].to_list() == ["published"]


def test_the_first_round_can_be_given_with_only_its_rows():
    """The model reads only the first actual round's academy Total rows and names that round."""
    full = statement_rows(_measures())
    only = statement_rows(_measures().filter(pl.col("round") == "R3"), first="R3")
    assert only.equals(full)


def test_the_statement_runs_the_engine_in_this_process_and_leaves_the_environment_alone(tmp_path, monkeypatch):
    """Whatever DESTINATIONS_DISCLOSURE_WORKERS says (here 3), the statement's engine queues get one
    process (no worker started), cached or not, and the environment is never changed meanwhile."""
    import os

    from pipelines.lib.disclosure import engine
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_WORKERS", "3")
    seen: list[tuple] = []
    real = engine._Queue.__init__

    def init(self, procs, n=None):
        real(self, procs, n)
        seen.append((self.n, os.environ["DESTINATIONS_DISCLOSURE_WORKERS"]))
    monkeypatch.setattr(engine._Queue, "__init__", init)
    published = pl.DataFrame({"mart": [], "row_key": [], "measure": [], "hidden": []},
                             schema={"mart": pl.Utf8, "row_key": pl.Utf8, "measure": pl.Utf8, "hidden": pl.Boolean})
    statement_cells(_years(), published, min_cohort=10, min_count=5)
    statement_cells(_years(), published, min_cohort=10, min_count=5, cache_path=tmp_path / "public.sqlite")
    assert seen and set(seen) == {(1, "3")}
    assert engine._Queue(engine._Workers()).n == 3                     # the default still reads it
