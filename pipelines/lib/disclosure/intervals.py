"""The interval bounds the engine needs per block (attack.bounds / attack._intervals), compiled.

The engine asks, many times per block, which hidden cells the published ones pin by interval
propagation with non-negativity (hidden zeros to release; cells an academy still pins). attack.py
keeps its own Python implementation: it is the independent check of the published pattern and
is not changed. This is a second implementation of the same rules for the engine only (the same
rule order and updates; the same queue order except that a relation of many parts waits for the
smaller ones: the fixpoint does not depend on the order), over arrays with local numbers; tests/disclosure/test_fast_paths.py compares the two on random relations.

Rules, for `whole = sum(parts)` (exact integers; an infinite upper bound is counted, never
subtracted): lo(whole) >= sum lo(parts), hi(whole) <= sum hi(parts), lo(part) >= lo(whole) -
sum hi(other parts), hi(part) <= hi(whole) - sum lo(other parts); repeated from a queue of
relations until nothing changes (monotone: the fixpoint does not depend on the order).
Compiled once per machine (numba cache=True, next to this file or in NUMBA_CACHE_DIR).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from pipelines.lib.disclosure.kernel import local_index, ranges, rel_arrays

INF = np.int64(1) << np.int64(62)   # an infinite upper bound (sums of finite bounds stay far below)
LATER_FROM = 32   # relations with more parts are evaluated after the smaller ones queued (fixpoint)


@njit(cache=True, inline="always")
def _push(r, PP, stack, top, later, nlater):
    """Queue relation r: on `later` if it has more than LATER_FROM parts, else on `stack`."""
    if PP[r + 1] - PP[r] > LATER_FROM:
        later[nlater] = r
        return top, nlater + 1
    stack[top] = r
    return top + 1, nlater


@njit(cache=True)
def fixpoint(W, PP, PV, RP, RV, val, unk, lo, hi, queue, queued, stack, ba, bb, changed, later):
    """lo/hi (per local variable; only unknown ones are read or written) tightened in place.
    Relation r: whole W[r], parts PV[PP[r]:PP[r+1]]; relations holding variable v:
    RV[RP[v]:RP[v+1]] (ascending); `queue`: the first relations, ascending (taken from the end,
    as attack._intervals pops its sorted list). Scratch, kept by the caller between calls (a
    call from a few cells then costs what it touches, not the block's size): `queued` (per
    relation, all False; left so), `stack` and `later` (per relation), `ba`, `bb`, `changed` (the
    most parts of a relation, plus one). A relation of more than LATER_FROM parts (a trust total
    over its academies) waits in `later` until no smaller one is queued: it is evaluated once
    after its parts' bounds settle, not once per part that changed (academies squared). The
    fixpoint is the same in any order (the rules only tighten bounds, monotonically)."""
    top = 0
    nlater = 0
    for r in queue:
        top, nlater = _push(r, PP, stack, top, later, nlater)
        queued[r] = True
    while top or nlater:
        if top:
            top -= 1
            ri = stack[top]
        else:
            nlater -= 1
            ri = later[nlater]
        queued[ri] = False
        whole = W[ri]
        w_unknown = unk[whole]
        if w_unknown:
            wlo = lo[whole]
            whi = hi[whole]
        else:
            wlo = val[whole]
            whi = val[whole]
        plo = 0
        phi = 0
        n_inf = 0
        any_unknown = w_unknown
        k = 0
        for j in range(PP[ri], PP[ri + 1]):
            p = PV[j]
            if unk[p]:
                a = lo[p]
                b = hi[p]
                any_unknown = True
            else:
                a = val[p]
                b = val[p]
            plo += a
            if b >= INF:
                n_inf += 1
            else:
                phi += b
            ba[k] = a
            bb[k] = b
            k += 1
        if not any_unknown:
            continue
        nch = 0
        if w_unknown:
            c = False
            if plo > wlo:
                lo[whole] = plo
                c = True
            if n_inf == 0 and phi < whi:
                hi[whole] = phi
                c = True
            if c:
                changed[nch] = whole
                nch += 1
        k = 0
        for j in range(PP[ri], PP[ri + 1]):
            p = PV[j]
            a = ba[k]
            b = bb[k]
            k += 1
            if not unk[p]:
                continue
            c = False
            if b >= INF:
                if n_inf == 1 and wlo - phi > a:
                    lo[p] = wlo - phi
                    c = True
            elif n_inf == 0 and wlo - (phi - b) > a:
                lo[p] = wlo - (phi - b)
                c = True
            if whi < INF:
                nh = whi - (plo - a)
                if nh < b:
                    hi[p] = nh
                    c = True
            if c:
                changed[nch] = p
                nch += 1
        for i in range(nch):
            v = changed[i]
            for j in range(RP[v], RP[v + 1]):
                r2 = RV[j]
                if not queued[r2]:
                    top, nlater = _push(r2, PP, stack, top, later, nlater)
                    queued[r2] = True


class BlockIntervals:
    """One block's relations as arrays, for attack.bounds-style questions in global numbers."""

    def __init__(self, relations, rels: list[int], vs: list[int], vals) -> None:
        self.ids = np.array(sorted(vs), np.int64)
        n, m = len(self.ids), len(rels)
        wholes, lens, parts = rel_arrays(relations, rels)
        self.W, self.PV = local_index(self.ids, wholes), local_index(self.ids, parts)
        self.PP = np.concatenate(([0], np.cumsum(lens))).astype(np.int64)
        # relations of each variable, ascending (a variable twice in one relation: listed twice)
        owner = np.concatenate((self.W, self.PV))
        rel = np.concatenate((np.arange(m, dtype=np.int64), np.repeat(np.arange(m, dtype=np.int64), np.diff(self.PP))))
        order = np.lexsort((rel, owner))
        self.RV = rel[order]
        self.RP = np.concatenate(([0], np.cumsum(np.bincount(owner, minlength=n)))).astype(np.int64)
        self.val = np.array([vals[v] for v in self.ids.tolist()], np.int64)
        self.n = n
        most = int(lens.max()) + 1 if m else 1
        self.scratch = (np.zeros(m, np.bool_), np.empty(m, np.int64), np.empty(most, np.int64),
                        np.empty(most, np.int64), np.empty(most, np.int64), np.empty(m, np.int64))

    def mask(self, vars_) -> np.ndarray:
        m = np.zeros(self.n, np.bool_)
        if vars_:
            m[np.searchsorted(self.ids, np.fromiter(vars_, np.int64, len(vars_)))] = True
        return m

    def _around(self, mask: np.ndarray) -> np.ndarray:
        """Relations holding a variable of `mask`, ascending."""
        v = np.nonzero(mask)[0]
        if not len(v):
            return np.empty(0, np.int64)
        return np.unique(self.RV[ranges(self.RP[v], self.RP[v + 1] - self.RP[v])])

    def bounds(self, unknown: np.ndarray, base=None, newly_known: np.ndarray | None = None):
        """attack.bounds over this block: (lo, hi) arrays (local numbers; meaningful for
        `unknown`), from [0, inf) or from `base` (a fixpoint for a superset whose extra cells
        `newly_known` are now known)."""
        if base is None:
            lo = np.zeros(self.n, np.int64)
            hi = np.full(self.n, INF, np.int64)
        else:
            lo, hi = base[0].copy(), base[1].copy()
        start = self._around(unknown if newly_known is None else newly_known)
        fixpoint(self.W, self.PP, self.PV, self.RP, self.RV, self.val, unknown, lo, hi, start, *self.scratch)
        return lo, hi

    def pinned(self, unknown: np.ndarray, base=None, newly_known: np.ndarray | None = None) -> set[int]:
        """Unknown cells (global numbers) the interval rules pin (lo == hi)."""
        lo, hi = self.bounds(unknown, base, newly_known)
        return set(self.ids[unknown & (lo == hi)].tolist())


def warm() -> None:
    """Compile (first time on a machine) or load the cached fixpoint, on a 3-cell block."""
    iv = BlockIntervals([(0, (1, 2))], [0], [0, 1, 2], [0, 0, 0])
    assert iv.pinned(iv.mask([1, 2])) == {1, 2}
