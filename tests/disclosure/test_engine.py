"""The disclosure engine and its attack on a small synthetic trust (neet_risk_rates shape:
academies x breakdowns, pupils and flagged), built from pupil rows so every relation is real."""
from __future__ import annotations

import random

import polars as pl
import pytest

from pipelines.lib.disclosure.attack import index_relations, recover
from pipelines.lib.disclosure.engine import audiences, primary_hidden, protect, run, suppress
from pipelines.lib.disclosure.structure import build_structure

TOPICS = {"Total": lambda p: "Total", "Sex": lambda p: p["sex"], "Disadvantage": lambda p: p["dis"],
          "Disadvantage and sex": lambda p: f"{p['dis']} {p['sex']}"}


def pupils(seed: int = 7, sizes=(40, 23, 9)) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for a, n in enumerate(sizes):
        for _ in range(n):
            out.append({"urn": f"10000{a}", "sex": rnd.choice(["Female", "Male"]),
                        "dis": rnd.choice(["Disadvantaged", "Not disadvantaged", "Not disadvantaged"]),
                        "flagged": rnd.random() < 0.15})
    return out


def neet_risk_rates(rows: list[dict]) -> pl.DataFrame:
    """The mart from pupil rows: every academy and the trust x every breakdown seen."""
    counts: dict[tuple, list[int]] = {}
    grid = {(t, f(p)) for p in rows for t, f in TOPICS.items()}
    urns = sorted({p["urn"] for p in rows})
    for level, urn in [("academy", u) for u in urns] + [("trust", None)]:
        for t, b in grid:
            counts[(level, urn, t, b)] = [0, 0]
    for p in rows:
        for t, f in TOPICS.items():
            for key in (("academy", p["urn"], t, f(p)), ("trust", None, t, f(p))):
                counts[key][0] += 1
                counts[key][1] += p["flagged"]
    return pl.DataFrame([
        {"level": lv, "academy_urn": u, "counts_in_trust_totals": True if lv == "academy" else None,
         "leaving_year": "2024-25", "key_stage": "KS4", "breakdown_topic": t, "breakdown": b,
         "pupils": n, "flagged": f}
        for (lv, u, t, b), (n, f) in sorted(counts.items(), key=lambda kv: str(kv[0]))
    ])


@pytest.fixture(scope="module")
def mart() -> pl.DataFrame:
    return neet_risk_rates(pupils())


def _recovered_nonzero(st, hidden_vars, known=frozenset()):
    return {v: x for v, x in _recovered(st, hidden_vars, known).items() if x}


def _recovered(st, hidden_vars, known=frozenset()):
    """Every hidden cell (zeros included) the attack pins, as an audience knowing `known`."""
    return recover(st.relations, st.values, set(hidden_vars), set(known), index_relations(st.relations))


def test_every_relation_is_checked_on_the_data(mart):
    st = build_structure({"neet_risk_rates": mart})
    # 4 topics -> Total (3 non-Total topics), D&S -> both margins, academies -> trust, per measure
    assert len(st.relations) > 20
    broken = mart.with_columns(
        pupils=pl.when((pl.col("level") == "trust") & (pl.col("breakdown") == "Total"))
        .then(pl.col("pupils") + 1).otherwise(pl.col("pupils")))
    with pytest.raises(AssertionError, match="does not hold"):
        build_structure({"neet_risk_rates": broken})


def test_primary_alone_is_broken_by_differencing(mart):
    """Hiding only the primary cells is not enough: the attack gets non-zero cells back."""
    st = build_structure({"neet_risk_rates": mart})
    primary = primary_hidden(st)
    assert primary, "the synthetic trust must have small cells"
    assert _recovered_nonzero(st, primary)


def test_attack_rules_differencing_and_non_negativity():
    """Total 5 = A + B: with A shown as 5 the hidden B is 0 (non-negativity pins nothing new
    here), with A shown as 3 B = 2 by subtraction; with A and B both hidden neither is pinned."""
    rels = [(0, (1, 2))]
    assert recover(rels, [5, 3, 2], {2}) == {2: 2}
    assert recover(rels, [5, 3, 2], {1, 2}) == {}
    # whole used up by its shown parts: every hidden part is 0
    rels = [(0, (1, 2, 3))]
    assert recover(rels, [4, 4, 0, 0], {2, 3}) == {2: 0, 3: 0}
    # two relations that only together pin a cell (linear algebra, not one relation alone)
    rels = [(0, (1, 2)), (3, (1, 4)), (5, (2, 4))]
    #   x0 = x1 + x2, x3 = x1 + x4, x5 = x2 + x4 with x0, x3, x5 shown -> x1, x2, x4 all pinned
    assert recover(rels, [7, 3, 4, 8, 5, 9], {1, 2, 4}) == {1: 3, 2: 4, 4: 5}


def test_engine_pattern_holds_for_directors_and_every_academy(mart):
    st = build_structure({"neet_risk_rates": mart})
    res = suppress(st)
    hidden = set(res.cells.filter("hidden")["var"].to_list())
    primary = set(primary_hidden(st))
    # every primary cell stays hidden, except zeros the published cells pin anyway (shown)
    assert {v for v in primary if st.values[v]} <= hidden
    assert all(st.values[v] == 0 for v in primary - hidden)
    assert recover(st.relations, st.values, primary - hidden) or not primary - hidden
    for name, known in audiences(st).items():
        assert not _recovered(st, hidden, known), name
    assert not res.unresolved
    # secondary cells were needed and chosen: more hidden than the primary rules alone
    assert len(hidden) > len(set(primary_hidden(st)))
    # the trust's Total row stays published (its pupils are not hidden)
    total = res.cells.filter((pl.col("row_key") == "trust|~|2024-25|KS4|Total|Total")
                             & (pl.col("measure") == "pupils"))
    assert not total["hidden"].item()
    # and not everything is hidden
    assert res.cells["hidden"].mean() < 0.9


def test_engine_academy_cannot_subtract_itself_from_the_trust():
    """Two academies: the small one's flagged count is primary; the big one knows its own
    figures, so the trust figure must be hidden too (trust minus own)."""
    rows = [{"urn": "A", "sex": "Female", "dis": "Disadvantaged", "flagged": i < 10} for i in range(30)]
    rows += [{"urn": "B", "sex": "Female", "dis": "Disadvantaged", "flagged": i < 1} for i in range(12)]
    st = build_structure({"neet_risk_rates": neet_risk_rates(rows)})
    res = suppress(st)
    c = res.cells
    trust_flagged = c.filter((pl.col("row_key") == "trust|~|2024-25|KS4|Total|Total") & (pl.col("measure") == "flagged"))
    assert trust_flagged["hidden"].item()
    hidden = set(c.filter("hidden")["var"].to_list())
    for name, known in audiences(st).items():
        assert not _recovered(st, hidden, known), name


def test_engine_is_deterministic_whatever_the_row_order(mart):
    a = suppress(build_structure({"neet_risk_rates": mart})).cells
    b = suppress(build_structure({"neet_risk_rates": mart.sample(fraction=1.0, shuffle=True, seed=3)})).cells
    key = ["mart", "row_key", "measure", "hidden"]
    assert a.select(key).sort(key).equals(b.select(key).sort(key))


def _grid(values: list[list[int]]):
    """A hand-built 2D table with both margins: variables numbered row by row, the last row and
    column the totals. Returns (relations, flat values)."""
    nr, nc = len(values), len(values[0])
    full = [row + [sum(row)] for row in values]
    full.append([sum(full[i][j] for i in range(nr)) for j in range(nc + 1)])
    var = lambda i, j: i * (nc + 1) + j  # noqa: E731
    rels = [(var(i, nc), tuple(var(i, j) for j in range(nc))) for i in range(nr + 1)]
    rels += [(var(nr, j), tuple(var(i, j) for i in range(nr))) for j in range(nc + 1)]
    return rels, [v for row in full for v in row]


def test_gauss_pass_protects_a_2d_table_with_margins():
    """Rows A..C x columns with margins; A's 2 is primary. The pass hides the fewest cells so that
    neither differencing, linear algebra nor non-negativity pins any hidden cell, zeros included."""
    rels, vals = _grid([[2, 0, 7, 9], [5, 4, 0, 8], [6, 3, 8, 0]])
    n = len(vals)
    hidden = {0: "primary cell"}
    protect(rels, vals, hidden, {"director": set()}, [False] * n, [False] * n)
    assert 0 in hidden and len(hidden) >= 4   # a 2D table needs at least a 2x2 rectangle
    assert recover(rels, vals, set(hidden)) == {}
    assert not any(vals[v] == 0 for v in hidden if v != 0), "a zero was chosen as a secondary"


def test_a_zero_pinned_by_non_negativity_is_shown():
    """W = z1 + z2 + s with z1, z2 hidden zeros (a primary row) and W, s shown: z1 + z2 = 0 pins
    both although neither is linearly determined. Hiding them protects nothing, so the engine
    shows them (and nothing else needs hiding: the attack then has nothing to recover)."""
    rels = [(0, (1, 2, 3)), (4, (0, 5))]          # W = z1 + z2 + s ; V = W + t
    vals = [5, 0, 0, 5, 9, 4]
    assert recover(rels, vals, {1, 2}) == {1: 0, 2: 0}   # the attack pins the zeros
    hidden = {1: "primary row", 2: "primary row"}
    stats, unresolved = protect(rels, vals, hidden, {"director": set()}, [False] * 6, [False] * 6)
    assert hidden == {} and stats["released_zeros"] == 2 and not unresolved


def test_a_cell_pinned_through_a_zero_is_protected():
    """W = z + a + s with z a hidden zero and a a hidden 2: the attack pins z = 0 (W - s = a + z
    and a <= ...) only if something bounds a; with V = a + t shown and t shown, a is determined
    outright. The engine must leave nothing recoverable, zeros included."""
    rels = [(0, (1, 2, 3)), (4, (2, 5)), (6, (1, 7))]   # W = z + a + s ; V = a + t ; U = z + u
    vals = [9, 0, 2, 7, 6, 4, 3, 3]
    hidden = {2: "primary cell"}
    protect(rels, vals, hidden, {"director": set()}, [False] * 8, [False] * 8)
    assert 2 in hidden and len(hidden) >= 2
    assert recover(rels, vals, set(hidden)) == {}


def test_academy_knowing_its_own_cells_cannot_difference_the_trust():
    """Trust = A + B + C per column; A knows its own row. A's primary cell forces secondaries such
    that A (knowing everything of its own) still cannot get B's or C's hidden cells."""
    rels, vals = _grid([[2, 6, 9], [7, 1, 8], [9, 8, 12]])   # rows A, B, C; last row trust
    n = len(vals)
    own = {"academy A": {0, 1, 2, 3}, "academy B": {4, 5, 6, 7}, "academy C": {8, 9, 10, 11}}
    flags = [False] * n
    # protected for directors only, some academy differences another's hidden cell
    director_only = {0: "primary cell", 5: "primary cell"}
    protect(rels, vals, director_only, {"director": set()}, flags, flags)
    assert recover(rels, vals, set(director_only)) == {}
    assert any(recover(rels, vals, set(director_only), known) for known in own.values())
    hidden = {0: "primary cell", 5: "primary cell"}
    protect(rels, vals, hidden, {"director": set()} | own, flags, flags)
    for name, known in ({"director": set()} | own).items():
        assert recover(rels, vals, set(hidden), known) == {}, name


def test_primary_rules_as_configured():
    """Cohort under 6 hides the whole row; counts 1-2 and their complements within the row's
    base are hidden; zeros and everything else are shown (before any secondary)."""
    rows = [("A", 4, 0), ("B", 20, 2), ("C", 20, 19), ("D", 20, 0), ("E", 20, 10)]
    frame = pl.DataFrame([
        {"level": "academy", "academy_urn": u, "counts_in_trust_totals": False, "leaving_year": "2024-25",
         "key_stage": "KS4", "breakdown_topic": "Total", "breakdown": "Total", "pupils": n, "flagged": f}
        for u, n, f in rows])
    st = build_structure({"neet_risk_rates": frame})
    reason = primary_hidden(st)
    got = {(k.split("|")[1], m): reason.get(v) for k, m, v in
           zip(st.cells["row_key"], st.cells["measure"], st.cells["var"])}
    assert got[("A", "pupils")] == got[("A", "flagged")] == "primary row"
    assert got[("B", "flagged")] == "primary cell" and got[("B", "pupils")] is None
    assert got[("C", "flagged")] == "primary cell"          # 20 - 19 = 1 not flagged
    assert got[("D", "flagged")] is None and got[("E", "flagged")] is None
    assert primary_hidden(st, min_cohort=3, min_count=2)  # thresholds are parameters
    assert got.get(("A", "pupils")) and not primary_hidden(st, min_cohort=3, min_count=1).get(
        st.cells.filter(pl.col("row_key").str.contains("\\|A\\|") & (pl.col("measure") == "pupils"))["var"].item())


def test_run_gives_one_row_per_published_cell(mart):
    """The interface the dbt model uses: run(frames) -> Result.cells with these columns."""
    res = run({"neet_risk_rates": mart})
    assert {"mart", "row_key", "measure", "measure_order", "value", "hidden", "reason"} <= set(res.cells.columns)
    assert res.cells.height == mart.height * 2
    assert res.cells.filter("hidden")["reason"].null_count() == 0
    assert res.stats["hidden_vars"] >= res.stats["primary_vars"] > 0


def test_audit_leaves_out_what_own_cells_alone_pin():
    """A trust row of one academy equals that academy's row: its user 'recovers' the hidden
    trust cell from its own cells alone, which is not a disclosure; a director recovers nothing."""
    from pipelines.lib.disclosure.audit import audit
    rows = [{"urn": "A", "sex": "Female", "dis": "Disadvantaged", "flagged": i < 2} for i in range(30)]
    frame = neet_risk_rates(rows)
    res = run({"neet_risk_rates": frame})
    hidden = res.cells.filter("hidden")
    assert hidden.height and hidden.filter(pl.col("row_key").str.starts_with("trust")).height
    pub = frame.join(hidden.filter(pl.col("measure") == "flagged").select("row_key"), how="anti",
                     left_on=pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null("~") for c in
                                            ("level", "academy_urn", "leaving_year", "key_stage",
                                             "breakdown_topic", "breakdown")], separator="|"),
                     right_on="row_key")
    out = audit({"neet_risk_rates": frame}, {"neet_risk_rates": pub})
    assert out.recovered["director"] == 0 and out.recovered["academy A"] == 0
    # ...although the raw attack as academy A pins the trust cells (equal to its own)
    st = build_structure({"neet_risk_rates": frame})
    own = audiences(st)["academy A"]
    assert _recovered(st, set(hidden["var"].to_list()), own)


LEAVES = ("school_sixth_form", "sixth_form_college", "further_education", "higher_education", "other_education",
          "apprenticeship", "employment", "training", "neet", "not_known", "other", "undecided", "excluded")


def destination_measures(pupils_: list[dict]) -> pl.DataFrame:
    """destination_measures from pupil rows (each with a leaf destination): every academy and the
    trust x Total, Sex, Disadvantage, Disadvantage and sex; the 16 counts with their sums."""
    grid = {(t, f(p)) for p in pupils_ for t, f in TOPICS.items()}
    urns = sorted({p["urn"] for p in pupils_})
    acc = {(lv, u, t, b): dict.fromkeys(LEAVES, 0)
           for lv, u in [("academy", u) for u in urns] + [("trust", None)] for t, b in grid}
    for p in pupils_:
        for t, f in TOPICS.items():
            for key in (("academy", p["urn"], t, f(p)), ("trust", None, t, f(p))):
                acc[key][p["dest"]] += 1
    rows = []
    for (lv, u, t, b), c in sorted(acc.items(), key=lambda kv: str(kv[0])):
        edu = sum(c[m] for m in LEAVES[:5])
        pos = edu + c["apprenticeship"] + c["employment"] + c["training"]
        rows.append({"level": lv, "academy_urn": u, "counts_in_trust_totals": True if lv == "academy" else None,
                     "leaving_year": "2024-25", "key_stage": "KS4", "round": "R3", "breakdown_topic": t,
                     "breakdown": b, "cohort": pos + c["neet"] + c["not_known"] + c["other"] + c["undecided"]
                     + c["excluded"], "education": edu, "positive": pos, **c})
    return pl.DataFrame(rows)


def school(urn: str, mix: dict[str, int]) -> list[dict]:
    out, i = [], 0
    for dest, n in mix.items():
        for _ in range(n):
            i += 1
            out.append({"urn": urn, "dest": dest, "sex": "Female" if i % 2 else "Male",
                        "dis": "Disadvantaged" if i % 3 == 0 else "Not disadvantaged"})
    return out


def _attack_all(st, hidden: set[int]) -> dict[str, dict[int, int]]:
    """What each audience recovers, leaving out what an academy's own cells and the shown zeros
    alone pin (audit.known_alone)."""
    from pipelines.lib.disclosure.audit import known_alone
    from pipelines.lib.disclosure.gauss import blocks
    rel_of = index_relations(st.relations)
    block_of, _ = blocks(len(st.values), st.relations)
    out = {}
    for name, known in audiences(st).items():
        got = recover(st.relations, st.values, hidden, known, rel_of)
        if got and known:
            alone = known_alone(st.relations, st.values, hidden, known, got, block_of, rel_of)
            got = {v: x for v, x in got.items() if v not in alone}
        out[name] = got
    return out


def test_two_academies_keep_their_large_cells():
    """A special school of 15 (2 apprenticeships, 2 NEET) and a secondary of 120 (1 not known):
    with two academies, trust minus own is the other academy, so their small cells and the trust's
    must be hidden together; but the cohorts (120, 135, 15), education and further education stay
    shown, nothing is recoverable, and hiding stays well under half of the cells."""
    pupils_ = school("100015", {"school_sixth_form": 3, "further_education": 8, "apprenticeship": 2, "neet": 2})
    pupils_ += school("100200", {"school_sixth_form": 60, "further_education": 30, "sixth_form_college": 12,
                                 "apprenticeship": 8, "employment": 5, "neet": 4, "not_known": 1})
    frame = destination_measures(pupils_)
    res = run({"destination_measures": frame})
    st = build_structure({"destination_measures": frame})
    c = res.cells
    total = c.filter(pl.col("row_key").str.ends_with("|Total|Total"))
    shown = {(k.split("|")[1], m): v for k, m, v, h in total.select("row_key", "measure", "value", "hidden").iter_rows()
             if not h}
    for who in ("100200", "~", "100015"):
        assert ("cohort" in {m for (u, m) in shown if u == who}), who
        assert (who, "education") in shown and (who, "further_education") in shown, who
    assert shown[("100200", "cohort")] == 120 and shown[("~", "cohort")] == 135
    hidden = set(c.filter("hidden")["var"].to_list())
    assert {v for v in primary_hidden(st) if st.values[v]} <= hidden
    assert all(not got for got in _attack_all(st, hidden).values())
    assert c["hidden"].mean() < 0.5


def test_engine_holds_on_a_generated_trust_for_every_audience():
    """Four academies of mixed size with small groups everywhere: the director and every academy
    recover nothing, zeros included (own cells and shown zeros alone aside)."""
    rnd = random.Random(11)
    dests = list(LEAVES[:10]) + ["neet", "not_known"]
    pupils_ = []
    for urn, n in (("A1", 60), ("A2", 33), ("A3", 17), ("A4", 8)):
        for i in range(n):
            pupils_.append({"urn": urn, "dest": rnd.choice(dests), "sex": rnd.choice(["Female", "Male"]),
                            "dis": rnd.choice(["Disadvantaged", "Not disadvantaged"])})
    frame = destination_measures(pupils_)
    res = run({"destination_measures": frame})
    st = build_structure({"destination_measures": frame})
    hidden = set(res.cells.filter("hidden")["var"].to_list())
    got = _attack_all(st, hidden)
    assert set(got) == {"director", "academy A1", "academy A2", "academy A3", "academy A4"}
    assert all(not g for g in got.values()), {k: len(v) for k, v in got.items()}
    assert not res.unresolved


def test_cache_gives_the_cold_result_and_skips_unchanged_blocks(tmp_path):
    """Two leaving years are independent blocks (pupils, flagged for each). A re-run after one pupil of 2025-26 changes
    reuses 2024-25's decision from the cache and recomputes 2025-26; both runs equal cold runs."""
    def trust(seed_b: int) -> pl.DataFrame:
        a = neet_risk_rates(pupils(7))
        b = neet_risk_rates(pupils(seed_b)).with_columns(leaving_year=pl.lit("2025-26"))
        return pl.concat([a, b])

    key = ["mart", "row_key", "measure", "hidden", "reason"]
    cache = tmp_path / "disclosure-cache.sqlite"
    first = run({"neet_risk_rates": trust(8)}, cache_path=cache)
    assert cache.exists() and first.stats.get("cached_blocks", 0) == 0
    again = run({"neet_risk_rates": trust(8)}, cache_path=cache)
    assert again.stats["cached_blocks"] == first.stats["blocks"] == 4
    assert again.cells.select(key).equals(first.cells.select(key))
    changed = run({"neet_risk_rates": trust(9)}, cache_path=cache)
    cold = run({"neet_risk_rates": trust(9)})
    assert changed.stats["cached_blocks"] == 2          # 2024-25 reused, 2025-26 recomputed
    assert changed.cells.select(key).equals(cold.cells.select(key))
    assert not changed.cells.filter(pl.col("row_key").str.contains("2025-26")).select(key).equals(
        first.cells.filter(pl.col("row_key").str.contains("2025-26")).select(key))


def _random_hierarchy(rnd: random.Random, n_academies: int = 6, leaves: int = 5):
    """Academies' leaf counts, each academy's total, and trust cells summing the academies (a
    trust leaf per leaf index, a trust total), with its relations and true values."""
    values: list[int] = []
    relations: list[tuple[int, tuple[int, ...]]] = []

    def var(x: int) -> int:
        values.append(x)
        return len(values) - 1

    acad_leaves = []
    acad_totals = []
    for _ in range(n_academies):
        ls = [var(rnd.choice([0, 0, 1, 2, 3, 5, 8, 13])) for _ in range(leaves)]
        t = var(sum(values[v] for v in ls))
        relations.append((t, tuple(ls)))
        acad_leaves.append(ls)
        acad_totals.append(t)
    trust_leaves = []
    for j in range(leaves):
        parts = tuple(a[j] for a in acad_leaves)
        tl = var(sum(values[v] for v in parts))
        relations.append((tl, parts))
        trust_leaves.append(tl)
    tt = var(sum(values[v] for v in trust_leaves))
    relations.append((tt, tuple(trust_leaves)))
    relations.append((tt, tuple(acad_totals)))
    return relations, values, acad_leaves + [[t] for t in acad_totals]


def test_interval_sweep_and_incremental_bounds_match_the_queue():
    """The vectorised sweep (large blocks) and the incremental start (an academy from the
    directors' fixpoint; 'own cells alone' from the relations around them) give exactly the
    bounds of the relation-by-relation queue from scratch, on random hierarchies."""
    from pipelines.lib.disclosure import attack
    from pipelines.lib.disclosure.attack import bounds as _bounds

    def queue(relations, values, unknown):
        lo = {v: 0 for v in unknown}
        hi = {v: attack.INF for v in unknown}
        old = attack.SWEEP_FROM
        attack.SWEEP_FROM = 10 ** 9
        try:
            attack._intervals(relations, index_relations(relations), values, unknown, lo, hi)
        finally:
            attack.SWEEP_FROM = old
        return lo, hi

    rnd = random.Random(3)
    pinned = 0
    for _ in range(60):
        relations, values, _ = _random_hierarchy(rnd)
        rel_of = index_relations(relations)
        hidden = {v for v in range(len(values)) if rnd.random() < 0.45}
        want = queue(relations, values, hidden)
        lo = {v: 0 for v in hidden}
        hi = {v: attack.INF for v in hidden}
        attack._sweep(relations, values, hidden, lo, hi, sorted({r for v in hidden for r in rel_of[v]}))
        assert (lo, hi) == want
        pinned += sum(lo[v] == hi[v] for v in hidden)
        known = {v for v in hidden if rnd.random() < 0.3}
        got = _bounds(relations, values, hidden - known, rel_of, want, hidden & known)
        assert got == queue(relations, values, hidden - known)
        everyone_else = set(range(len(values))) - known
        assert _bounds(relations, values, everyone_else, rel_of, newly_known=known) == \
            queue(relations, values, everyone_else)
    assert pinned > 50   # the systems do pin cells: the comparison is not vacuous


def test_attack_from_the_directors_end_matches_the_attack_from_scratch():
    """Attack.recover (each academy user started where the directors' attack ended) pins
    exactly what recover() from scratch pins, on random hierarchies where audiences do pin
    cells (intervals and linear steps both)."""
    from pipelines.lib.disclosure.attack import Attack

    rnd = random.Random(11)
    pinned = 0
    for _ in range(80):
        relations, values, groups = _random_hierarchy(rnd, n_academies=rnd.choice([2, 3, 5]))
        rel_of = index_relations(relations)
        hidden = {v for v in range(len(values)) if rnd.random() < 0.5}
        att = Attack(relations, values, hidden, rel_of)
        assert att.recover() == recover(relations, values, hidden, set(), rel_of)
        for g in groups:
            known = set(g) | {v for v in range(len(values)) if rnd.random() < 0.1}
            want = recover(relations, values, hidden, known, rel_of)
            assert att.recover(known) == want
            pinned += len(want)
    assert pinned > 100


def neet_not_known(dm: pl.DataFrame) -> pl.DataFrame:
    """neet_not_known from destination_measures rows: the NEET denominator leaves out `excluded`
    (custody, 710/720); every NEET pupil counts as active."""
    return dm.select("level", "academy_urn", "counts_in_trust_totals", "leaving_year", "key_stage", "round",
                     "breakdown_topic", "breakdown", "cohort", "excluded", "neet", "not_known").with_columns(
        neet_denominator=pl.col("cohort") - pl.col("excluded"), neet_active=pl.col("neet"),
        neet_inactive=pl.lit(0, pl.Int64), neet_not_known=pl.col("neet") + pl.col("not_known"))


def test_the_trust_headline_cohort_stays_shown_when_one_academy_holds_its_excluded_pupil():
    """The demo's 2025-26 KS4 R3 pattern: the trust's one excluded pupil (custody) is in academy
    A1 and every other academy shows excluded 0, so A1 knows the trust's excluded; cohort -
    neet_denominator = excluded forces one of the trust's two denominators out for directors, and
    the old engine then hid the other one too for A1 (the trust cohort of 610, with it every share
    of the trust's Total row, and two small academies' cohorts to protect it). Now a zero is
    hidden instead: the trust cohort, EET, NEET and not known of destination_measures stay shown,
    and nobody recovers anything."""
    rnd = random.Random(5)
    mix = (["school_sixth_form"] * 6 + ["further_education"] * 5 + ["sixth_form_college"] * 2
           + ["apprenticeship", "employment", "training", "neet", "not_known", "other"])
    pupils_ = []
    for urn, n in (("A1", 220), ("A2", 180), ("A3", 150), ("A4", 37), ("A5", 23)):
        for i in range(n):
            pupils_.append({"urn": urn, "dest": "excluded" if (urn, i) == ("A1", 0) else rnd.choice(mix),
                            "sex": rnd.choice(["Female", "Male"]),
                            "dis": rnd.choice(["Disadvantaged", "Not disadvantaged", "Not disadvantaged"])})
    dm = destination_measures(pupils_)
    frames = {"destination_measures": dm, "neet_not_known": neet_not_known(dm)}
    res = run(frames)
    c = res.cells.filter(pl.col("row_key").str.ends_with("|Total|Total"))
    trust = {(mart, m): (v, h) for mart, k, m, v, h in c.select("mart", "row_key", "measure", "value", "hidden")
             .iter_rows() if k.startswith("trust|")}
    assert trust[("destination_measures", "cohort")] == (610, False)
    for m in ("positive", "neet", "not_known"):          # the Overview's EET, NEET, not known
        assert not trust[("destination_measures", m)][1], m
    assert trust[("destination_measures", "excluded")] == (1, True)
    # cohort - neet_denominator = excluded: the denominator that goes is the NEET one
    assert trust[("neet_not_known", "neet_denominator")] == (609, True)
    # no academy cohort of the Total row is hidden to protect it either
    academies = c.filter(pl.col("row_key").str.starts_with("academy|") & (pl.col("measure") == "cohort")
                         & (pl.col("mart") == "destination_measures"))
    assert academies.height == 5 and not academies["hidden"].any()
    st = build_structure(frames)
    hidden = set(res.cells.filter("hidden")["var"].to_list())
    assert {v for v in primary_hidden(st) if st.values[v]} <= hidden
    got = _attack_all(st, hidden)
    assert set(got) == {"director"} | {f"academy A{i}" for i in range(1, 6)}
    assert all(not g for g in got.values()), {k: len(v) for k, v in got.items()}
    assert not res.unresolved and res.stats.get("headline_kept", 0) >= 1


def _mixed_cases(rnd: random.Random):
    """12 random trust hierarchies side by side (one block each, academies knowing their own
    cells) with their primary cells, and a generated 3-academy trust's destination_measures over
    three leaving years: (relations, values, own, primary, flags, structure)."""
    relations, values, own = [], [], {"director": set()}
    for t in range(12):
        rels, vals, groups = _random_hierarchy(rnd, n_academies=rnd.choice([2, 3, 5]))
        off = len(values)
        relations += [(w + off, tuple(p + off for p in ps)) for w, ps in rels]
        values += vals
        for i, g in enumerate(groups[:len(groups) // 2]):
            own.setdefault(f"academy {i}", set()).update(v + off for v in g)
    primary = {v: "primary cell" for v in range(len(values)) if 1 <= values[v] < 3}
    flags = [False] * len(values)
    dests = list(LEAVES[:10]) + ["neet", "not_known"]
    frames = []
    for year in ("2023-24", "2024-25", "2025-26"):
        pupils_ = [{"urn": urn, "dest": rnd.choice(dests), "sex": rnd.choice(["Female", "Male"]),
                    "dis": rnd.choice(["Disadvantaged", "Not disadvantaged"])}
                   for urn, n in (("A1", 40), ("A2", 21), ("A3", 9)) for _ in range(n)]
        frames.append(destination_measures(pupils_).with_columns(leaving_year=pl.lit(year)))
    return relations, values, own, primary, flags, build_structure({"destination_measures": pl.concat(frames)})


def test_worker_processes_give_the_serial_result(monkeypatch):
    """Blocks done in worker processes (every block sent, 2 workers) give exactly the hidden
    cells, reasons and stats of the serial engine: on 12 random trust hierarchies side by side
    (one block each, academies knowing their own cells) and on a generated trust's
    destination_measures over three leaving years (3 blocks)."""
    import pipelines.lib.disclosure.engine as engine
    rnd = random.Random(17)
    relations, values, own, primary, flags, st = _mixed_cases(rnd)

    def both():
        hidden = dict(primary)
        stats, unresolved = protect(relations, values, hidden, own, flags, flags)
        res = suppress(st)
        return hidden, stats, unresolved, res.cells.select("var", "hidden", "reason"), \
            {k: v for k, v in res.stats.items() if not k.endswith("seconds")}

    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_WORKERS", "1")
    serial = both()
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_WORKERS", "2")
    monkeypatch.setattr(engine, "POOL_FROM_VARS", 0)
    sent = []
    real = engine._Queue.add
    monkeypatch.setattr(engine._Queue, "add", lambda self, size, make, done:
                        sent.append(id(self)) or real(self, size, make, done))
    parallel = both()
    assert [sent.count(q) for q in dict.fromkeys(sent)] == [12, 3], sent   # every block went to a worker
    assert serial[0] == parallel[0] and len(serial[0]) > len(primary)
    assert serial[1:3] == parallel[1:3] and serial[1]["academy_passes"] > 0
    assert serial[3].equals(parallel[3]) and serial[3]["hidden"].sum() > 0
    assert serial[4] == parallel[4]
    # workers that cannot start (e.g. a caller's main module that cannot be re-imported): serial
    from concurrent.futures.process import BrokenProcessPool

    def broken(self, n):
        raise BrokenProcessPool("a worker died")
    monkeypatch.setattr(engine._Workers, "get", broken)
    hidden = dict(primary)
    assert protect(relations, values, hidden, own, [False] * len(values), [False] * len(values)) == serial[1:3]
    assert hidden == serial[0]
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_WORKERS", "two")
    with pytest.raises(ValueError, match="DESTINATIONS_DISCLOSURE_WORKERS"):
        engine.workers()


def _redo_trust(rnd: random.Random):
    """The structure of a 5-academy trust (one excluded pupil) whose headline cohort a redo keeps
    shown: destination_measures and neet_not_known."""
    mix = (["school_sixth_form"] * 6 + ["further_education"] * 5 + ["sixth_form_college"] * 2
           + ["apprenticeship", "employment", "training", "neet", "not_known", "other"])
    pupils_ = [{"urn": urn, "dest": "excluded" if (urn, i) == ("A1", 0) else rnd.choice(mix),
                "sex": rnd.choice(["Female", "Male"]), "dis": rnd.choice(["Disadvantaged", "Not disadvantaged"])}
               for urn, n in (("A1", 220), ("A2", 180), ("A3", 150), ("A4", 37), ("A5", 23)) for i in range(n)]
    dm = destination_measures(pupils_)
    return build_structure({"destination_measures": dm, "neet_not_known": neet_not_known(dm)})


def _skip_trust():
    """A 5-academy trust (destination_measures and neet_not_known) where, after an academy round,
    the directors' intervals pin hidden zeros: the directors' pass there is skipped."""
    rnd = random.Random(31)
    dests = list(LEAVES[:10]) + ["neet", "not_known", "excluded"]
    sizes = [rnd.choice([5, 9, 14, 23, 37, 60]) for _ in range(rnd.choice([5, 6, 8]))]
    pupils_ = [{"urn": f"A{i}", "dest": rnd.choice(dests), "sex": rnd.choice(["Female", "Male"]),
                "dis": rnd.choice(["Disadvantaged", "Not disadvantaged"])} for i, n in enumerate(sizes) for _ in range(n)]
    dm = destination_measures(pupils_)
    return build_structure({"destination_measures": dm, "neet_not_known": neet_not_known(dm)})


def test_exact_shortcuts_give_the_full_passes_result(monkeypatch):
    """The engine's shortcuts (engine.SHORTCUTS) change nothing: an academy pass is skipped
    (engine._hides_nothing) only where the full pass hides nothing, and then with the full pass's
    `determined` (every decision checked against the full pass); and with all shortcuts (skips,
    the directors' span reused, passes stopped after their headline cells) the hidden cells,
    reasons and stats equal those of every pass run in full: on 12 random trust hierarchies side
    by side, a generated 3-academy trust's destination_measures over three leaving years, and a
    5-academy trust whose headline cohort a redo keeps shown, and one where a directors' pass after
    an academy round is skipped (every such pass checked to hide and determine nothing)."""
    import pipelines.lib.disclosure.engine as engine
    from pipelines.lib.disclosure.gauss import gauss_pass
    rnd = random.Random(23)
    relations, values, own, primary, flags, st = _mixed_cases(rnd)
    st2 = _redo_trust(rnd)
    st3 = _skip_trust()
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_WORKERS", "1")
    drop = ("academy_passes_skipped", "director_passes_reused", "director_passes_skipped")

    def result():
        hidden = dict(primary)
        stats, unresolved = protect(relations, values, hidden, own, flags, flags)
        out = [hidden, {k: v for k, v in stats.items() if k not in drop}, unresolved]
        taken = {k: stats.get(k, 0) for k in drop}
        for s in (st, st2, st3):
            res = suppress(s)
            out += [res.cells.select("var", "hidden", "reason"),
                    {k: v for k, v in res.stats.items() if not k.endswith("seconds") and k not in drop}]
            taken = {k: n + res.stats.get(k, 0) for k, n in taken.items()}
        return out, taken

    real = engine._hides_nothing
    decisions = []

    def checked(x, vs, vals, H, H0, mine_set, own_vecs, exposed_all, spans, stats, unavoidable, name):
        before = set(unavoidable.get(name, ()))
        skip = real(x, vs, vals, H, H0, mine_set, own_vecs, exposed_all, spans, stats, unavoidable, name)
        # the full pass, as _academy_round runs it
        cands = [v for v in vs if v not in H and v not in mine_set and vals[v]]
        zeros = [v for v in vs if v not in H and v not in mine_set and not vals[v]]
        if all(len(u) == 1 and set(u.values()) == {1} for u in own_vecs):   # own free coordinates
            cs = {c for u in own_vecs for c in u}
            xa = {v: {c: y for c, y in x[v].items() if c not in cs} for v in vs}
            newly, asp = gauss_pass(xa, cands, H - mine_set, zeros)
        else:
            newly, asp = gauss_pass(x, cands, H - mine_set, zeros + sorted(mine_set))
        assert skip == (not newly), (name, newly)
        if skip:
            assert unavoidable[name] == before | (asp.determined - mine_set)
        decisions.append((skip, len(H) == len(H0)))
        return skip

    real_round = engine._academy_round
    after_rounds = []

    def round_checked(x, vs, vals, hidden, *args, **kw):
        # the directors' pass after a round that hid cells hides and determines nothing (the
        # claim that lets _protect_block skip it): run it on a copy to see
        hid = real_round(x, vs, vals, hidden, *args, **kw)
        if hid:
            trial = dict(hidden)
            sp = engine._director_pass(x, vs, vals, trial)
            assert trial == hidden and not sp.determined
            after_rounds.append(len(hidden))
        return hid

    monkeypatch.setattr(engine, "_hides_nothing", checked)
    monkeypatch.setattr(engine, "_academy_round", round_checked)
    got, taken = result()
    assert after_rounds and taken["director_passes_skipped"] > 0, (after_rounds, taken)
    assert (True, True) in decisions and (True, False) in decisions and (False, False) in decisions
    assert taken["director_passes_reused"] > 0 and got[6]["headline_kept"] > 0, (taken, got[6])
    monkeypatch.setattr(engine, "SHORTCUTS", False)   # every pass in full
    full, taken = result()
    assert taken == {k: 0 for k in drop}
    assert got[0] == full[0] and len(got[0]) > len(primary)
    assert got[1:3] == full[1:3] and got[1]["academy_passes"] > 0
    for a, b in ((got[3], full[3]), (got[5], full[5]), (got[7], full[7])):
        assert a.equals(b) and a["hidden"].sum() > 0
    assert got[4] == full[4] and got[6] == full[6] and got[8] == full[8]


@pytest.mark.parametrize("seed", range(4))
def test_kept_zero_spans_give_the_full_passes_result(seed, monkeypatch):
    """Passes started from the kept span of the shown zeros (kernel.ZeroSpans, here on every block:
    ZERO_SPANS_FROM = 0), directors' passes built as the span of the shown cells (when no hidden
    cell is in it) or run with rows for the hidden cells in it only (or for a superset kept from
    the last pass), and one-call academy checks
    give the hidden cells, reasons and stats of every pass run in full from scratch
    (SHORTCUTS = False): on random trust hierarchies, a 3-academy trust
    over three years, a trust whose headline a redo keeps (its zeros' span rebuilt, extended and
    projected) and one whose directors' pass after a round is skipped."""
    import pipelines.lib.disclosure.engine as engine
    from pipelines.lib.disclosure import kernel
    rnd = random.Random(40 + seed)
    relations, values, own, primary, flags, st = _mixed_cases(rnd)
    st2, st3 = _redo_trust(rnd), _skip_trust()
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_WORKERS", "1")
    monkeypatch.setattr(engine, "ZERO_SPANS_FROM", 0)
    drop = ("academy_passes_skipped", "director_passes_reused", "director_passes_skipped")

    def result():
        hidden = dict(primary)
        stats, unresolved = protect(relations, values, hidden, own, flags, flags)
        out = [hidden, {k: v for k, v in stats.items() if k not in drop}, unresolved]
        for s in (st, st2, st3):
            res = suppress(s)
            out += [res.cells.select("var", "hidden", "reason"),
                    {k: v for k, v in res.stats.items() if not k.endswith("seconds") and k not in drop}]
        return out

    used = {"projected": 0, "known": 0, "plain": 0, "restricted": 0}
    real_start = kernel.ZeroSpans.start

    def start(self, zeros, forced_hidden, known=(), xa=None, cs=None):
        used["projected" if xa is not None else "known" if len(known) else "plain"] += 1
        return real_start(self, zeros, forced_hidden, known, xa, cs)
    real_hide = kernel.KSpan.hide

    def hide(self, cells):
        used["restricted"] += 1
        return real_hide(self, cells)
    real_pass = engine._director_pass

    def director_pass(x, vs, vals, hidden, zs=None, last=None):
        # rows from the last pass's (no hidden cell shown since): span(S) not built first
        if last and last["hidden"] <= {v for v in vs if v in hidden}:
            used["kept rows"] = used.get("kept rows", 0) + 1
        return real_pass(x, vs, vals, hidden, zs, last)
    monkeypatch.setattr(kernel.ZeroSpans, "start", start)
    monkeypatch.setattr(kernel.KSpan, "hide", hide)
    monkeypatch.setattr(engine, "_director_pass", director_pass)
    got = result()
    assert all(used.values()) and used.get("kept rows"), used
    monkeypatch.setattr(engine, "SHORTCUTS", False)
    full = result()
    assert got[0] == full[0] and len(got[0]) > len(primary)
    assert got[1:3] == full[1:3]
    for a, b in ((got[3], full[3]), (got[5], full[5]), (got[7], full[7])):
        assert a.equals(b) and a["hidden"].sum() > 0
    assert got[4] == full[4] and got[6] == full[6] and got[8] == full[8]
