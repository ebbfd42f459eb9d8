"""The one disclosure engine: which published cells are hidden (c), chosen jointly across all
linked marts so that no audience can work out a hidden cell (research/domain.md §5.1).

primary    a row whose denominator is 1 .. min_cohort-1 is hidden whole; a count of
           1 .. min_count-1, or whose base (the row's cohort) minus it is 1 .. min_count-1, is
           hidden. Zeros and empty rows are shown.
secondary  the attack of `attack.py` is run for every audience (directors: the published cells;
           each academy: the published cells plus all of its own cells). Each hidden cell it
           recovers gets one more cell hidden next to it (in the relation that exposed it: the
           smallest non-zero shown count the audience does not already know, never a row
           denominator unless nothing else can help). Repeated until no audience recovers
           anything. A row whose denominator is hidden is hidden whole (its shares with it).
Deterministic: variables are numbered by mart, row key and measure; every choice is a sort.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import polars as pl

from pipelines.lib.disclosure.attack import index_relations, recover
from pipelines.lib.disclosure.structure import MART_BY_NAME, Structure, build_structure

log = logging.getLogger(__name__)

MIN_COHORT = 6
MIN_COUNT = 3


@dataclass
class Result:
    cells: pl.DataFrame                 # one row per mart cell: mart, row_key, measure, value, hidden, reason
    seconds: float
    rounds: int
    unresolved: dict[str, int] = field(default_factory=dict)  # audience -> cells still recovered


def primary_hidden(st: Structure, min_cohort: int = MIN_COHORT, min_count: int = MIN_COUNT) -> dict[int, str]:
    """Variables hidden by the primary rules -> reason."""
    reason: dict[int, str] = {}
    c = st.cells
    rows_value = {}
    for r, m, v in zip(c["row_id"], c["measure"], c["value"]):
        rows_value[(r, m)] = int(v or 0)
    for mart, r, m, val, var, is_den in zip(c["mart"], c["row_id"], c["measure"], c["value"], c["var"],
                                            c["is_denominator"]):
        spec = MART_BY_NAME[mart]
        val = int(val or 0)
        den = rows_value[(r, spec.denominator)]
        if 1 <= den < min_cohort:
            reason.setdefault(var, "primary row")
            continue
        if is_den:
            continue
        base_m = spec.complement_of.get(m)
        base = rows_value[(r, base_m)] if base_m else None
        if 1 <= val < min_count or (base is not None and base > 0 and 1 <= base - val < min_count):
            reason[var] = "primary cell"
    return reason


def _close_rows(st: Structure, hidden: dict[int, str]) -> None:
    """A row whose denominator is hidden is hidden whole (in place)."""
    todo = sorted(hidden)
    while todo:
        v = todo.pop()
        for r in st.var_rows.get(v, ()):
            if st.row_denominator.get(r) == v:
                for w in st.row_vars[r]:
                    if w not in hidden:
                        hidden[w] = "secondary (row)"
                        todo.append(w)


def _pick(st: Structure, rel_of, v: int, hidden: dict[int, str], known: set[int],
          is_den: set[int]) -> int | None:
    """A shown variable to hide so that `v` is no longer pinned: from the relations around v,
    nearest first (relations with fewest unknown cells first), the smallest non-zero count."""
    values = st.values
    seen_rel: set[int] = set()
    frontier = [v]
    seen_var = {v}
    for _depth in range(4):
        cands = []
        rels = sorted({ri for x in frontier for ri in rel_of.get(x, ()) if ri not in seen_rel})
        for ri in rels:
            seen_rel.add(ri)
            whole, parts = st.relations[ri]
            members = (whole,) + parts
            n_unknown = sum(1 for m in members if m in hidden and m not in known)
            for m in members:
                if m not in hidden and m not in known:
                    cands.append((m in is_den, values[m] == 0, n_unknown, values[m], m))
        if cands:
            return min(cands)[-1]
        nxt = []
        for ri in rels:
            whole, parts = st.relations[ri]
            for m in (whole,) + parts:
                if m not in seen_var:
                    seen_var.add(m)
                    nxt.append(m)
        frontier = nxt
        if not frontier:
            break
    return None


def audiences(st: Structure) -> dict[str, set[int]]:
    """Audience -> variables it knows without the published marts: directors nothing; each
    academy user all cells of its own academy rows (academy_own marts)."""
    out: dict[str, set[int]] = {"director": set()}
    c = st.cells.filter(pl.col("academy_urn").is_not_null())
    for urn, var in zip(c["academy_urn"], c["var"]):
        out.setdefault(f"academy {urn}", set()).add(var)
    return {k: out[k] for k in sorted(out, key=lambda k: (k != "director", k))}


def suppress(st: Structure, min_cohort: int = MIN_COHORT, min_count: int = MIN_COUNT,
             max_rounds: int = 200) -> Result:
    """Choose the hidden cells of every published mart."""
    t0 = time.perf_counter()
    rel_of = index_relations(st.relations)
    hidden = primary_hidden(st, min_cohort, min_count)
    _close_rows(st, hidden)
    is_den = set(st.row_denominator.values())
    auds = audiences(st)
    rounds = 0
    cache: dict = {}
    unresolved: dict[str, int] = {}
    # audiences whose last check found nothing and whose relations saw no new hidden cell
    # each audience until it recovers nothing; then again from the top until a whole pass adds
    # nothing (hiding more never exposes an already safe cell, but a new hidden cell may be)
    while rounds < max_rounds:
        pass_added = False
        unresolved = {}
        for name, known in auds.items():
            while rounds < max_rounds:
                rounds += 1
                got = recover(st.relations, st.values, set(hidden), known, rel_of, cache)
                added = stuck = 0
                touched: set[int] = set()   # relations around cells hidden this round
                got = {v: x for v, x in got.items() if x != 0}   # zeros are not protected (DfE shows 0)
                for v in sorted(got):
                    if touched.intersection(rel_of.get(v, ())):
                        continue   # a cell hidden next to it this round may already protect it
                    m = _pick(st, rel_of, v, hidden, known, is_den)
                    if m is None:
                        stuck += 1
                    elif m not in hidden:
                        hidden[m] = "secondary"
                        added += 1
                        touched.update(rel_of.get(m, ()))
                _close_rows(st, hidden)
                log.debug("round %d %s: %d recovered, %d added, %d hidden, %.1fs", rounds, name, len(got),
                          added, len(hidden), time.perf_counter() - t0)
                if stuck:
                    unresolved[name] = stuck
                if not added:
                    break
                pass_added = True
        if not pass_added:
            break
    cells = st.cells.with_columns(
        hidden=pl.col("var").is_in(sorted(hidden)),
        reason=pl.col("var").replace_strict(hidden, default=None, return_dtype=pl.Utf8),
    )
    return Result(cells=cells, seconds=time.perf_counter() - t0, rounds=rounds, unresolved=unresolved)


def run(frames: dict, min_cohort: int = MIN_COHORT, min_count: int = MIN_COUNT) -> Result:
    """Structure + suppression for the unpublished marts in `frames` (name -> rows)."""
    t0 = time.perf_counter()
    st = build_structure(frames)
    res = suppress(st, min_cohort, min_count)
    res.seconds = time.perf_counter() - t0
    return res
