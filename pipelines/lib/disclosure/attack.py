"""The attack: what an audience can work out about hidden cells from what it can see.

Given additive relations `whole = sum(parts)` over variables, their true values, the hidden
variables and the ones this audience knows anyway (an academy's own cells), the attacker

1. propagates interval bounds through every relation until nothing changes, using that counts
   are never negative (a whole already used up by its shown parts makes every hidden part 0);
2. solves the relations as a linear system per connected block of unknown cells (exact
   rational Gaussian elimination): a cell alone in a row of the reduced system is determined;
   a reduced row whose cells all have the same sign and whose total is 0 makes each of them 0;
3. repeats 1-2 with what was recovered until nothing changes.

A hidden variable is *recovered* when its value is pinned exactly. Pure functions, no I/O.
"""
from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

import numpy as np

from pipelines.lib.disclosure.gauss import eliminate, reduce_by

INF = float("inf")

Relation = tuple[int, tuple[int, ...]]


def _terms(rel: Relation) -> list[tuple[int, int]]:
    whole, parts = rel
    return [(whole, 1)] + [(p, -1) for p in parts]


def _intervals(relations: list[Relation], rel_of: dict[int, list[int]], values: list[int],
               unknown: set[int], lo: dict[int, float], hi: dict[int, float], start=None) -> None:
    """Tighten lo/hi of unknown variables in place until nothing changes. For `whole = sum(parts)`:
    lo(whole) >= sum lo(parts), hi(whole) <= sum hi(parts), lo(part) >= lo(whole) - sum hi(other
    parts), hi(part) <= hi(whole) - sum lo(other parts). Exact integers; an infinite upper bound
    is counted, never subtracted (inf - inf would hide a finite rest).
    The rules are monotone, so the result is the same whichever relation goes first: `start`
    (relation indices) is where to begin when lo/hi already hold a fixpoint of these rules for
    a larger unknown set (e.g. a director's, for an academy that also knows some of those
    cells: only relations around the newly known cells can tighten anything), or when every
    unknown is still [0, inf) (only relations holding a known cell can)."""
    queue = sorted(start if start is not None else {r for v in unknown for r in rel_of.get(v, ())})
    if start is None and len(queue) >= SWEEP_FROM:
        _sweep(relations, values, unknown, lo, hi, queue)
        return
    queued = set(queue)
    while queue:
        ri = queue.pop()
        queued.discard(ri)
        whole, parts = relations[ri]
        w_unknown = whole in unknown
        if w_unknown:
            wlo, whi = lo[whole], hi[whole]
        else:
            wlo = whi = values[whole]
        plo = phi = n_inf = 0
        bounds = []
        any_unknown = w_unknown
        for p in parts:
            if p in unknown:
                a, b = lo[p], hi[p]
                any_unknown = True
            else:
                a = b = values[p]
            plo += a
            if b == INF:
                n_inf += 1
            else:
                phi += b
            bounds.append((a, b))
        if not any_unknown:
            continue
        changed = []
        if w_unknown:
            c = False
            if plo > wlo:
                lo[whole] = plo
                c = True
            if not n_inf and phi < whi:
                hi[whole] = phi
                c = True
            if c:
                changed.append(whole)
        for p, (a, b) in zip(parts, bounds):
            if p not in unknown:
                continue
            c = False
            if b == INF:
                if n_inf == 1 and wlo - phi > a:
                    lo[p] = wlo - phi
                    c = True
            elif not n_inf and wlo - (phi - b) > a:
                lo[p] = wlo - (phi - b)
                c = True
            nh = whi - (plo - a)
            if nh < b:
                hi[p] = nh
                c = True
            if c:
                changed.append(p)
        for v in changed:
            for r2 in rel_of.get(v, ()):
                if r2 not in queued:
                    queue.append(r2)
                    queued.add(r2)


SWEEP_FROM = 2000   # relations: from here one vectorised sweep over all of them beats the queue
_BIG = 1 << 60      # an infinite upper bound in the sweep's arrays (sums never add two)


def _sweep(relations: list[Relation], values: list[int], unknown: set[int], lo: dict, hi: dict,
           rel_ids: list[int]) -> None:
    """_intervals by vectorised sweeps: every relation of `rel_ids` at once from the previous
    sweep's bounds, until nothing changes. The rules are monotone, so this reaches the same
    fixpoint as the queue (the tightest bounds the rules allow), with exact int64 arithmetic.
    `rel_ids` must hold every relation around a cell whose bounds can still move."""
    members = sorted({m for ri in rel_ids for m in (relations[ri][0],) + relations[ri][1]})
    loc = {v: i for i, v in enumerate(members)}
    unk = np.array([v in unknown for v in members], dtype=bool)
    lo_a = np.array([lo[v] if v in unknown else values[v] for v in members], dtype=np.int64)
    hi_a = np.array([(_BIG if hi[v] == INF else hi[v]) if v in unknown else values[v] for v in members],
                    dtype=np.int64)
    W = np.array([loc[relations[ri][0]] for ri in rel_ids], dtype=np.int64)
    e_rel = np.array([i for i, ri in enumerate(rel_ids) for _ in relations[ri][1]], dtype=np.int64)
    e_var = np.array([loc[p] for ri in rel_ids for p in relations[ri][1]], dtype=np.int64)
    m = len(rel_ids)
    w_unk = unk[W]
    e_unk = unk[e_var]
    while True:
        inf = hi_a >= _BIG
        p_lo = np.zeros(m, dtype=np.int64)
        np.add.at(p_lo, e_rel, lo_a[e_var])
        p_hi = np.zeros(m, dtype=np.int64)
        np.add.at(p_hi, e_rel, np.where(inf, 0, hi_a)[e_var])
        n_inf = np.zeros(m, dtype=np.int64)
        np.add.at(n_inf, e_rel, inf[e_var].astype(np.int64))
        new_lo = lo_a.copy()
        new_hi = hi_a.copy()
        # wholes: lo >= sum lo(parts), hi <= sum hi(parts) when no part is unbounded
        np.maximum.at(new_lo, W[w_unk], p_lo[w_unk])
        ok = w_unk & (n_inf == 0)
        np.minimum.at(new_hi, W[ok], p_hi[ok])
        # parts: lo >= lo(whole) - sum hi(other parts) when those are all bounded
        a, b, b_inf = lo_a[e_var], hi_a[e_var], inf[e_var]
        others_inf = n_inf[e_rel] - b_inf
        ok = e_unk & (others_inf == 0)
        cand = lo_a[W][e_rel] - (p_hi[e_rel] - np.where(b_inf, 0, b))
        np.maximum.at(new_lo, e_var[ok], cand[ok])
        # parts: hi <= hi(whole) - sum lo(other parts) when the whole is bounded
        ok = e_unk & ~inf[W][e_rel]
        cand = hi_a[W][e_rel] - (p_lo[e_rel] - a)
        np.minimum.at(new_hi, e_var[ok], cand[ok])
        if np.array_equal(new_lo, lo_a) and np.array_equal(new_hi, hi_a):
            break
        lo_a, hi_a = new_lo, new_hi
    for v, x, y in zip(members, lo_a.tolist(), hi_a.tolist()):
        if v in unknown:
            lo[v] = x
            hi[v] = INF if y >= _BIG else y


def _components(rows: list[dict[int, int]]) -> list[list[int]]:
    parent: dict[int, int] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for row in rows:
        vs = list(row)
        for v in vs[1:]:
            a, b = find(vs[0]), find(v)
            if a != b:
                parent[max(a, b)] = min(a, b)
    comp: dict[int, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        comp[find(next(iter(row)))].append(i)
    return [comp[k] for k in sorted(comp)]


def _linear(relations: list[Relation], rel_of: dict[int, list[int]], values: list[int],
            unknown: set[int], echelon: tuple | None = None) -> dict[int, int]:
    """Unknown variables fixed by the relations as a linear system (with the sign rule).
    `echelon` ((pivot rows, column index), empty): filled with the fully reduced echelon form
    of the whole system (rows restricted to the unknown cells, mod PRIME)."""
    rows: list[dict[int, int]] = []
    rhs: list[int] = []
    for ri in sorted({r for v in unknown for r in rel_of.get(v, ())}):
        row: dict[int, int] = {}
        const = 0
        for v, c in _terms(relations[ri]):
            if v in unknown:
                row[v] = row.get(v, 0) + c
            else:
                const -= c * values[v]
        row = {v: c for v, c in row.items() if c}
        if row:
            rows.append(row)
            rhs.append(const)
    piv_rows, idx = echelon if echelon is not None else ({}, defaultdict(set))
    found: dict[int, int] = {}
    for comp in _components(rows):
        if len(comp) == 1 and len(rows[comp[0]]) > 1:
            _sign_rule(rows[comp[0]], rhs[comp[0]], found)
        # components share no cell, so one echelon form for all of them is each one's
        for i in comp:
            eliminate(piv_rows, idx, {v: c % PRIME for v, c in rows[i].items() if c % PRIME}, PRIME)
    for p, row in piv_rows.items():
        if len(row) == 1:   # a row left with one cell determines it
            found[p] = values[p]
    return found


def _sign_rule(row: dict, rhs, found: dict[int, int]) -> None:
    coefs = list(row.values())
    if rhs == 0 and (all(c > 0 for c in coefs) or all(c < 0 for c in coefs)):
        for v in row:
            found[v] = 0
    elif len(row) == 1:
        (v, c), = row.items()
        found[v] = int(Fraction(rhs) / c)


PRIME = (1 << 61) - 1   # not the engine's prime: the attack is an independent check


def index_relations(relations: list[Relation]) -> dict[int, list[int]]:
    rel_of: dict[int, list[int]] = defaultdict(list)
    for i, (w, parts) in enumerate(relations):
        rel_of[w].append(i)
        for p in parts:
            rel_of[p].append(i)
    return rel_of


def blocks(relations: list[Relation], rel_of: dict[int, list[int]], unknown: set[int]) -> list[tuple[int, ...]]:
    """Connected blocks of unknown variables (linked by a relation holding both)."""
    parent: dict[int, int] = {v: v for v in unknown}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    done: set[int] = set()
    for v in unknown:
        for ri in rel_of.get(v, ()):
            if ri in done:
                continue
            done.add(ri)
            whole, parts = relations[ri]
            members = [m for m in (whole,) + parts if m in parent]
            r0 = find(members[0])
            for m in members[1:]:
                r = find(m)
                if r != r0:
                    if r < r0:
                        r, r0 = r0, r
                    parent[r] = r0
    out: dict[int, list[int]] = defaultdict(list)
    for v in unknown:
        out[find(v)].append(v)
    return [tuple(sorted(out[k])) for k in sorted(out)]


def _recover_block(relations, rel_of, values, block: tuple[int, ...], keep: bool = False):
    """Cells of `block` (all unknown) the attacker pins. With `keep`: (pinned, the final state:
    unknown cells, their bounds, the echelon form of the final linear system)."""
    unknown = set(block)
    lo = {v: 0 for v in unknown}
    hi = {v: INF for v in unknown}
    got: dict[int, int] = {}
    while True:
        _intervals(relations, rel_of, values, unknown, lo, hi)
        new = {v: int(lo[v]) for v in unknown if lo[v] == hi[v]}
        echelon = ({}, defaultdict(set))
        if not new:
            lin = _linear(relations, rel_of, values, unknown, echelon)
            new = {v: x for v, x in lin.items() if v in unknown}
        if not new:
            break
        for v, x in new.items():
            assert x == values[v], f"attack derived {x} for a cell worth {values[v]}: unsound relation"
        got.update(new)
        unknown -= set(new)
        if not unknown:
            echelon = ({}, defaultdict(set))
            break
    if keep:
        return got, (unknown, lo, hi, echelon)
    return got


def recover(relations: list[Relation], values: list[int], hidden: set[int], known: set[int] = frozenset(),
            rel_of: dict[int, list[int]] | None = None, cache: dict | None = None) -> dict[int, int]:
    """Hidden variables (not in `known`) whose value the attacker pins exactly: var -> value.
    Works block by block; `cache` (block -> result) may be shared across calls on the same data."""
    rel_of = rel_of if rel_of is not None else index_relations(relations)
    unknown = set(hidden) - set(known)
    got: dict[int, int] = {}
    for block in blocks(relations, rel_of, unknown):
        if cache is not None and block in cache:
            res = cache[block]
        else:
            res = _recover_block(relations, rel_of, values, block)
            if cache is not None:
                cache[block] = res
        got.update(res)
    return got


def bounds(relations, vals: list[int], unknown: set[int], rel_of, base=None, newly_known=None):
    """(lo, hi) of the interval fixpoint for `unknown` (the attack's first step). From `base`,
    the fixpoint for a superset of `unknown` whose extra cells `newly_known` are now known (a
    director's, for an academy user: anyone who knows more ends at or inside it), only the
    relations around `newly_known` are propagated again; with `newly_known` and no base, every
    unknown starts at [0, inf) and only relations around them can tighten anything. Same
    result as from scratch, far fewer relations visited."""
    if base is None:
        lo = {v: 0 for v in unknown}
        hi = {v: INF for v in unknown}
    else:
        lo = {v: base[0][v] for v in unknown}
        hi = {v: base[1][v] for v in unknown}
    start = None if newly_known is None else sorted({r for v in newly_known for r in rel_of.get(v, ())})
    _intervals(relations, rel_of, vals, unknown, lo, hi, start)
    return lo, hi


class Attack:
    """The attack on one published pattern for many audiences: the directors' attack once per
    block, keeping where it ended (unknown cells, interval bounds, echelon form of the linear
    system), then each academy user from there. What an audience pins only grows with what it
    knows (both steps are monotone), so an academy's attack may start at the directors' end
    with its own hidden cells added as known:
    - intervals: only the relations around newly known cells are propagated again;
    - linear: with K the cells known since the directors' end, a cell h is determined iff
      e_h is in rowspace(R) + span{e_k : k in K} (the system restricted to fewer unknowns is
      the projection of R), tested on vectors reduced against R's echelon form.
    recover(known) gives what recover(relations, values, hidden, known) gives, far faster
    when many academies share the trust's large blocks."""

    def __init__(self, relations: list[Relation], values: list[int], hidden: set[int],
                 rel_of: dict[int, list[int]] | None = None) -> None:
        self.relations, self.values = relations, values
        self.rel_of = rel_of if rel_of is not None else index_relations(relations)
        self.hidden = set(hidden)
        self.blocks = blocks(relations, self.rel_of, self.hidden)
        self.block_of = {v: i for i, b in enumerate(self.blocks) for v in b}
        self.got: list[dict[int, int]] = []
        self.state: list[tuple] = []
        for b in self.blocks:
            got, state = _recover_block(relations, self.rel_of, values, b, keep=True)
            self.got.append(got)
            self.state.append(state)

    def recover(self, known: set[int] = frozenset()) -> dict[int, int]:
        known = set(known)
        out: dict[int, int] = {}
        touched = {self.block_of[v] for v in known if v in self.block_of}
        for got in self.got:
            out.update({v: x for v, x in got.items() if v not in known})
        for i in sorted(touched):
            out.update(self._from_directors(i, known))
        return out

    def _from_directors(self, i: int, known: set[int]) -> dict[int, int]:
        unknown0, lo, hi, (rows, idx) = self.state[i]
        newly = unknown0 & known
        if not newly:
            return {}
        relations, rel_of, values = self.relations, self.rel_of, self.values
        unknown = unknown0 - newly
        ext: dict[int, dict[int, int]] = {}            # echelon of the known cells, reduced against R
        ext_idx: dict[int, set[int]] = defaultdict(set)
        found: dict[int, int] = {}
        while newly:
            for k in sorted(newly):
                eliminate(ext, ext_idx, reduce_by(rows, {k: 1}, PRIME), PRIME)
            lo, hi = bounds(relations, values, unknown, rel_of, (lo, hi), newly)
            new = {v: int(lo[v]) for v in unknown if lo[v] == hi[v]}
            if not new:
                # e_h reduced against R is e_h when h is no pivot of R (in the known cells'
                # span iff that span's reduced form has the row {h: 1}), else minus the rest of
                # h's row (only possible when all of that rest lies in their support)
                new = {h: values[h] for h in sorted(unknown.intersection(ext))
                       if h not in rows and len(ext[h]) == 1}
                support = {c for c, held in ext_idx.items() if held}
                hits: dict[int, int] = defaultdict(int)
                for c in support:
                    for p in idx.get(c, ()):
                        hits[p] += 1
                for h in sorted(p for p, k in hits.items() if k == len(rows[p]) - 1 and p in unknown):
                    if not reduce_by(ext, reduce_by(rows, {h: 1}, PRIME), PRIME):
                        new[h] = values[h]
            for v, x in new.items():
                assert x == values[v], f"attack derived {x} for a cell worth {values[v]}: unsound relation"
            found.update(new)
            unknown -= set(new)
            newly = set(new)
        return found
