"""The compiled elimination kernel (numba): gauss.py's hot path over arrays, bit-identical to it.

gauss.py stays the reference (and the attack's path, with its own prime); this module does the
same arithmetic mod p = 2^31 - 1 with the same choices, so a pass gives the same hidden cells:
every result of gauss.py is a function of the span, the pivot rules and the candidate order,
never of a dict's iteration order (reduction by a fully reduced basis is one linear combination;
"parallel" is tested exactly; pivots: publish min (rows holding c, c), eliminate min c,
nullspace min rank).

Representation, per block, with local column numbers (a variable's place in the sorted block, so
"min c" is the same column as in gauss.py):
- X (KX): the vectors x_v as CSR arrays (indptr, cols, vals), each row sorted by column;
- a store (a tuple of arrays, see new_store): rows in slots (slot q < n: the basis row with pivot
  q; slot n + h: hidden cell h), each a sorted (cols, vals) run in one arena; per column the exact
  number of basis and hidden rows holding it (the pivot rule needs it) and a linked list of the
  rows that may hold it (an entry goes stale when its column cancels: every use checks the row
  by binary search; a pivot column's lists are emptied once it is eliminated everywhere). The
  arenas are grown (compacted) between steps, never inside one, so no typed containers and no
  per-row reference counting are needed.
All loops of a pass (start, candidates, publish, reduce, the parallel test), nullspace,
exposed_by, span_of and in_span_with run compiled: Python calls the kernel once per piece of work.
Compiled once per machine (cache=True: __pycache__ next to this file, or NUMBA_CACHE_DIR); about a
minute of CPU the first time, about 2 s to load after that; the engine loads it before starting
its worker processes (warm), which then load the cache.
"""
from __future__ import annotations

from collections.abc import Sequence

import itertools

import numpy as np
from numba import njit

P = (1 << 31) - 1


@njit(cache=True)
def _modinv(a):
    r = 1
    b = a % P
    e = P - 2
    while e:
        if e & 1:
            r = r * b % P
        b = b * b % P
        e >>= 1
    return r


# A store is a tuple of arrays (numba passes it without reference counting per element use):
#  0 ac, 1 av   row arena (columns, values); a row is ac[rs[k]:rs[k] + rl[k]], sorted by column
#  2 rs, 3 rl, 4 rk   per slot: start, length, capacity (slot q < n: basis row with pivot q;
#                     slot n + h: hidden cell h)
#  5 nrow, 6 nnext    list node arena: the slot a node names, the next node (-1: end)
#  7 lh               per list (column c: basis rows c, hidden rows n + c): first node, -1 empty
#  8 cnt              per list: the exact number of rows holding the column
#  9 isb, 10 hid, 11 det   per cell: a basis pivot, a live hidden row, determined
#  12 dmark, 13 dval  dense scratch (a stamp per use)
#  14 meta            [stamp, row arena top, node arena top]
#  15 oc, 16 ov       the vector being worked on; 17 nc, 18 nv merge buffer; 19 oc2, 20 ov2
# The arenas (0, 1, 5, 6) are int32 (half the memory of a large block's fill-in): a column or a
# slot < 2n < 2^31, a value < P = 2^31 - 1, a node < an arena's length (checked where it grows);
# so are the per-slot and per-list arrays (2, 3, 4, 7, 8: an arena position, a length, a node, a
# count of rows < 2n); numba does arithmetic on them in int64.
ARENA_MAX = (1 << 31) - 1


@njit(cache=True)
def new_store(n):
    if 2 * n >= ARENA_MAX:
        raise OverflowError("block too large for the kernel's int32 arenas")
    z = np.zeros(2 * n, np.int32)
    return (np.empty(4 * n + 64, np.int32), np.empty(4 * n + 64, np.int32),
            z.copy(), z.copy(), z.copy(),
            np.empty(4 * n + 64, np.int32), np.empty(4 * n + 64, np.int32), np.full(2 * n, -1, np.int32), z.copy(),
            np.zeros(n, np.bool_), np.zeros(n, np.bool_), np.zeros(n, np.bool_),
            np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(4, np.int64),
            np.empty(n + 1, np.int64), np.empty(n + 1, np.int64), np.empty(n + 1, np.int64),
            np.empty(n + 1, np.int64), np.empty(n + 1, np.int64), np.empty(n + 1, np.int64))


@njit(cache=True)
def _arenas(live, need):
    """A pair of int32 arenas for `live` entries, with room for `need` more and half as much
    again (grown geometrically, 1.5x: less idle room than 2x)."""
    cap = live + live // 2 + 2 * need + 1024
    if cap > ARENA_MAX:
        raise OverflowError("kernel arena beyond int32")
    return np.empty(cap, np.int32), np.empty(cap, np.int32)


@njit(cache=True)
def _rows_compacted(ac, av, rs, rl, rk, isb, hid, out_rs, out_rl, out_rk, need):
    """The live rows (a basis row, a live hidden row) copied into new arenas, each with room for
    half as much again, the arenas with room for `need` more entries and half as much again;
    their places written to out_rs/out_rl/out_rk (may be rs/rl/rk; a row not live gets 0).
    Returns (ac, av, top)."""
    n = isb.shape[0]
    live = 0
    for k in range(2 * n):
        if _slot_live(isb, hid, k):
            live += rl[k] + rl[k] // 2 + 2
    nac, nav = _arenas(live, need)
    top = 0
    for k in range(2 * n):
        if _slot_live(isb, hid, k):
            a, m = rs[k], rl[k]
            nac[top:top + m] = ac[a:a + m]
            nav[top:top + m] = av[a:a + m]
            out_rs[k], out_rl[k], out_rk[k] = top, m, m + m // 2 + 2
            top += m + m // 2 + 2
        else:
            out_rl[k], out_rk[k] = 0, 0
    return nac, nav, top


@njit(cache=True)
def _lists_compacted(isb, hid, nrow, nnext, lh, out_lh, need):
    """The list nodes copied into new arenas with room for `need` more and half as much again,
    each list in its order; the heads written to out_lh (may be lh). Returns (nrow, nnext, top).
    Every node is kept, those of rows no longer live too (every reader skips them): dropping them
    (a _slot_live check per node) cost a large block's passes 5-10 % more CPU."""
    n = isb.shape[0]
    live = 0
    for k in range(2 * n):
        e = lh[k]
        while e >= 0:
            live += 1
            e = nnext[e]
    nr, nn = _arenas(live, need)
    top = 0
    for k in range(2 * n):
        e = lh[k]
        out_lh[k] = -1
        prev = -1
        while e >= 0:
            nr[top] = nrow[e]
            nn[top] = -1
            if prev < 0:
                out_lh[k] = top
            else:
                nn[prev] = top
            prev = top
            top += 1
            e = nnext[e]
    return nr, nn, top


@njit(cache=True)
def _ensure(S, need_rows, need_nodes):
    """S with room for need_rows more row entries and need_nodes more list nodes (compacted
    into larger arenas when there is not)."""
    ac, av, rs, rl, rk, nrow, nnext, lh = S[0], S[1], S[2], S[3], S[4], S[5], S[6], S[7]
    isb, hid, meta = S[9], S[10], S[14]
    if meta[1] + need_rows > ac.shape[0]:
        ac, av, top = _rows_compacted(ac, av, rs, rl, rk, isb, hid, rs, rl, rk, need_rows)
        meta[1] = top
    if meta[2] + need_nodes > nrow.shape[0]:
        nrow, nnext, top = _lists_compacted(isb, hid, nrow, nnext, lh, lh, need_nodes)
        meta[2] = top
    return (ac, av, rs, rl, rk, nrow, nnext, lh, S[8], isb, hid, S[11], S[12], S[13], meta,
            S[15], S[16], S[17], S[18], S[19], S[20])


@njit(cache=True)
def _push(S, k, slot):
    nrow, nnext, lh, meta = S[5], S[6], S[7], S[14]
    e = meta[2]
    meta[2] = e + 1
    nrow[e] = slot
    nnext[e] = lh[k]
    lh[k] = e


@njit(cache=True)
def _row_write(S, k, cs, vs, m):
    ac, av, rs, rl, rk, meta = S[0], S[1], S[2], S[3], S[4], S[14]
    if rk[k] < m:   # moved to the top of the arena (room ensured beforehand)
        rs[k] = meta[1]
        rk[k] = m + m // 2 + 2
        meta[1] += rk[k]
    s = rs[k]
    ac[s:s + m] = cs[:m]
    av[s:s + m] = vs[:m]
    rl[k] = m


@njit(cache=True)
def _add_row(S, k, cs, vs, m, base):
    """Row slot k := (cs, vs); its columns counted and listed (base 0: basis, n: hidden)."""
    _row_write(S, k, cs, vs, m)
    cnt = S[8]
    for i in range(m):
        c = cs[i]
        cnt[base + c] += 1
        _push(S, base + c, k)


@njit(cache=True)
def _lower(a, lo, hi, c):
    """First position in a[lo:hi] (sorted) holding a value >= c."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < c:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _slot_live(isb, hid, slot):
    """Whether `slot`'s row is live (a basis row, a live hidden row): a row compacting keeps."""
    n = isb.shape[0]
    return isb[slot] if slot < n else hid[slot - n]


@njit(cache=True)
def _axpy_piv(S, k, q, rc, rv, rm, base):
    """Row slot k -= row[q] * r (r has 1 at q; both sorted by column), keeping counts and lists
    (base 0: basis, n: hidden). Returns the row's new length, or -1 if the row does not hold q
    (a stale list entry)."""
    ac, av, rs, rl, cnt, nc, nv = S[0], S[1], S[2], S[3], S[8], S[17], S[18]
    s0 = rs[k]
    tm = rl[k]
    jq = _lower(ac, s0, s0 + tm, q)
    if jq >= s0 + tm or ac[jq] != q:
        return -1
    f = av[jq]
    # the common case: every other column of r is in the row and none cancels: in place
    inplace = True
    p = s0
    for i in range(rm):
        c = rc[i]
        if c == q:
            continue
        p = _lower(ac, p, s0 + tm, c)
        if p >= s0 + tm or ac[p] != c or (av[p] - f * rv[i]) % P == 0:
            inplace = False
            break
        nc[i] = p
    if inplace:
        for i in range(rm):
            if rc[i] != q:
                p = nc[i]
                t = (av[p] - f * rv[i]) % P
                if t < 0:
                    t += P
                av[p] = t
        for j in range(jq, s0 + tm - 1):
            ac[j] = ac[j + 1]
            av[j] = av[j + 1]
        cnt[base + q] -= 1
        rl[k] = tm - 1
        return tm - 1
    # otherwise a merge
    i = 0
    j = s0
    e = s0 + tm
    w = 0
    while i < rm or j < e:
        if i >= rm or (j < e and ac[j] < rc[i]):
            nc[w] = ac[j]
            nv[w] = av[j]
            w += 1
            j += 1
        elif j >= e or rc[i] < ac[j]:
            c = rc[i]
            t = (-f * rv[i]) % P
            if t < 0:
                t += P
            nc[w] = c
            nv[w] = t
            w += 1
            cnt[base + c] += 1
            _push(S, base + c, k)
            i += 1
        else:
            t = (av[j] - f * rv[i]) % P
            if t < 0:
                t += P
            if t != 0:
                nc[w] = ac[j]
                nv[w] = t
                w += 1
            else:
                cnt[base + ac[j]] -= 1
            i += 1
            j += 1
    _row_write(S, k, nc, nv, w)
    return w


@njit(cache=True)
def _reduce(S, xc, xv, xm, oc, ov):
    """(oc, ov)[:m] = x reduced by the store's basis (fully reduced), sorted by column; returns m."""
    ac, av, rs, rl, isb, dmark, dval, meta = S[0], S[1], S[2], S[3], S[9], S[12], S[13], S[14]
    meta[0] += 1
    s = meta[0]
    m = 0
    for i in range(xm):
        c = xc[i]
        dmark[c] = s
        dval[c] = xv[i]
        oc[m] = c
        m += 1
    for i in range(xm):
        c = xc[i]
        if isb[c]:
            f = xv[i]
            b0 = rs[c]
            for j in range(b0, b0 + rl[c]):
                k = ac[j]
                if dmark[k] != s:
                    dmark[k] = s
                    dval[k] = 0
                    oc[m] = k
                    m += 1
                t = (dval[k] - f * av[j]) % P
                if t < 0:
                    t += P
                dval[k] = t
    w = 0
    for i in range(m):
        c = oc[i]
        if dval[c] != 0:
            oc[w] = c
            w += 1
    if w <= 24:
        for i in range(1, w):
            c = oc[i]
            j = i - 1
            while j >= 0 and oc[j] > c:
                oc[j + 1] = oc[j]
                j -= 1
            oc[j + 1] = c
    else:
        oc[:w] = np.sort(oc[:w])
    for i in range(w):
        ov[i] = dval[oc[i]]
    return w


@njit(cache=True)
def _would_determine(S, rc, rv, m):
    """Publishing r would put a hidden cell in the span: a hidden row parallel to r (same support,
    proportional), looked for among the rows holding r's rarest column."""
    ac, av, rs, rl, nrow, nnext, lh, cnt = S[0], S[1], S[2], S[3], S[5], S[6], S[7], S[8]
    hid, dmark, dval, meta = S[10], S[12], S[13], S[14]
    n = hid.shape[0]
    best = -1
    bn = 1 << 62
    for i in range(m):
        k = cnt[n + rc[i]]
        if k < bn:
            bn = k
            best = rc[i]
    if bn == 0:
        return False
    meta[0] += 1
    s = meta[0]
    for i in range(m):
        dmark[rc[i]] = s
        dval[rc[i]] = rv[i]
    e = lh[n + best]
    prev = -1
    while e >= 0:
        slot = nrow[e]
        nxt = nnext[e]
        if not hid[slot - n]:   # a row no longer hidden: dropped from the list
            if prev < 0:
                lh[n + best] = nxt
            else:
                nnext[prev] = nxt
            e = nxt
            continue
        prev = e
        e = nxt
        if rl[slot] != m:
            continue
        v0 = rs[slot]
        k0 = ac[v0]
        if dmark[k0] != s:
            continue
        a0 = av[v0]
        r0 = dval[k0]
        ok = True
        for j in range(v0, v0 + m):
            c = ac[j]
            if dmark[c] != s or (av[j] * r0 - dval[c] * a0) % P != 0:
                ok = False
                break
        if ok:
            return True
    return False


@njit(cache=True)
def _pivot(S, rc, m, mode, rank):
    """The pivot of r: (mode 0) min (rows holding c, c) as Span.publish, (1) min c as eliminate,
    (2) min rank[c] as nullspace."""
    cnt = S[8]
    n = S[9].shape[0]
    q = rc[0]
    if mode == 0:
        bk = 1 << 62
        for i in range(m):
            c = rc[i]
            k = cnt[c] + cnt[n + c]
            if k < bk or (k == bk and c < q):
                bk = k
                q = c
    elif mode == 1:
        for i in range(m):
            if rc[i] < q:
                q = rc[i]
    else:
        for i in range(m):
            if rank[rc[i]] < rank[q]:
                q = rc[i]
    return q


@njit(cache=True)
def _room(S, q, m):
    """S with room for publishing an m-entry vector with pivot q."""
    rl, nrow, nnext, lh = S[3], S[5], S[6], S[7]
    n = S[9].shape[0]
    rows = 2 * m + 2
    nodes = m
    for k in (q, n + q):
        e = lh[k]
        while e >= 0:
            t = rl[nrow[e]] + m
            rows += t + t // 2 + 2
            nodes += m
            e = nnext[e]
    return _ensure(S, rows, nodes)


@njit(cache=True)
def _publish(S, rc, rv, m, q):
    """Add the reduced vector r to the basis with pivot q (room ensured: _room): normalise,
    eliminate it from every basis and hidden row holding q (a hidden row that empties is
    determined)."""
    nrow, nnext, lh, isb, hid, det = S[5], S[6], S[7], S[9], S[10], S[11]
    n = isb.shape[0]
    fq = 0
    for i in range(m):
        if rc[i] == q:
            fq = rv[i]
    inv = _modinv(fq)
    for i in range(m):
        rv[i] = rv[i] * inv % P
    e = lh[q]
    lh[q] = -1
    while e >= 0:
        _axpy_piv(S, nrow[e], q, rc, rv, m, 0)
        e = nnext[e]
    e = lh[n + q]
    lh[n + q] = -1
    while e >= 0:
        slot = nrow[e]
        if hid[slot - n]:
            if _axpy_piv(S, slot, q, rc, rv, m, n) == 0:
                hid[slot - n] = False
                det[slot - n] = True
        e = nnext[e]
    _add_row(S, q, rc, rv, m, 0)
    isb[q] = True


@njit(cache=True)
def _hide(S, h, rc, rv, m):
    n = S[9].shape[0]
    S = _ensure(S, 2 * m + 2, m)
    _add_row(S, n + h, rc, rv, m, n)
    S[10][h] = True
    return S


@njit(cache=True)
def _add(S, rc, rv, m, mode, rank):
    """Publish (mode 0) or eliminate (1, 2) the reduced vector r; returns the store."""
    q = _pivot(S, rc, m, mode, rank)
    S = _room(S, q, m)
    _publish(S, rc, rv, m, q)
    return S


@njit(cache=True)
def start_pass(S, xp, xc, xv, fh_sorted, fh_mask, shown):
    """gauss.start_pass: forced-hidden cells hidden (an empty x: determined), forced-shown
    cells published. Returns the store."""
    det, oc, ov = S[11], S[15], S[16]
    for i in range(fh_sorted.shape[0]):
        h = fh_sorted[i]
        a, b = xp[h], xp[h + 1]
        if b > a:
            S = _hide(S, h, xc[a:b], xv[a:b], b - a)
        else:
            det[h] = True
    dummy = np.empty(0, np.int64)
    for i in range(shown.shape[0]):
        s = shown[i]
        if fh_mask[s]:
            continue
        a, b = xp[s], xp[s + 1]
        m = _reduce(S, xc[a:b], xv[a:b], b - a, oc, ov)
        if m:
            S = _add(S, oc, ov, m, 0, dummy)
    return S


@njit(cache=True)
def go_on(S, xp, xc, xv, cands, fh_mask):
    """gauss.go_on: each candidate published unless that would determine a hidden cell.
    Returns (the store, the candidates hidden in order)."""
    oc, ov = S[15], S[16]
    out = np.empty(cands.shape[0], np.int64)
    k = 0
    dummy = np.empty(0, np.int64)
    for i in range(cands.shape[0]):
        s = cands[i]
        if fh_mask[s]:
            continue
        a, b = xp[s], xp[s + 1]
        m = _reduce(S, xc[a:b], xv[a:b], b - a, oc, ov)
        if m == 0:
            continue
        if _would_determine(S, oc, ov, m):
            S = _hide(S, s, oc, ov, m)
            out[k] = s
            k += 1
        else:
            S = _add(S, oc, ov, m, 0, dummy)
    return S, out[:k]


@njit(cache=True)
def _eliminate(T, vc, vv, m):
    """gauss.eliminate (pivot min c) of the vector into the store T: (T, False if dependent)."""
    oc, ov = T[19], T[20]
    k = _reduce(T, vc, vv, m, oc, ov)
    if k == 0:
        return T, False
    return _add(T, oc, ov, k, 1, np.empty(0, np.int64)), True


@njit(cache=True)
def _clear(T):
    """T emptied for reuse as a scratch echelon form (cheaper than a new store)."""
    T[3][:] = 0
    T[4][:] = 0
    T[7][:] = -1
    T[8][:] = 0
    T[9][:] = False
    T[10][:] = False
    T[11][:] = False
    T[14][1] = 0
    T[14][2] = 0


@njit(cache=True)
def in_span_with(B, T, vp, vc, vv, targets, xp, xc, xv):
    """gauss.in_span_with: targets t with x_t in span(basis of B) + span(vectors) (T: a scratch
    store). Returns (T, a 0/1 array over targets)."""
    _clear(T)
    oc, ov = B[15], B[16]
    rows = False
    for i in range(vp.shape[0] - 1):
        a, b = vp[i], vp[i + 1]
        m = _reduce(B, vc[a:b], vv[a:b], b - a, oc, ov)
        if m:
            T, got = _eliminate(T, oc, ov, m)
            rows = rows or got
    out = np.zeros(targets.shape[0], np.bool_)
    tc, tv = T[15], T[16]
    for i in range(targets.shape[0]):
        t = targets[i]
        a, b = xp[t], xp[t + 1]
        m = _reduce(B, xc[a:b], xv[a:b], b - a, oc, ov)
        if m == 0 or (rows and _reduce(T, oc, ov, m, tc, tv) == 0):
            out[i] = True
    return T, out


@njit(cache=True)
def exposed_by(S, T, extra, vp, vc, vv, xp, xc, xv):
    """gauss.exposed_by: hidden cells of S (not in `extra`) determined once the cells `extra`
    and the vectors are added to its published span (T: a scratch store). Returns (T, them
    sorted)."""
    ac, av, rs, rl, nrow, nnext, lh, hid = S[0], S[1], S[2], S[3], S[5], S[6], S[7], S[10]
    n = hid.shape[0]
    _clear(T)
    oc, ov = S[15], S[16]
    is_extra = np.zeros(n, np.bool_)
    for i in range(extra.shape[0]):
        is_extra[extra[i]] = True
    rows = False
    for i in range(extra.shape[0]):
        e = extra[i]
        if hid[e]:
            s0 = rs[n + e]
            T, got = _eliminate(T, ac[s0:s0 + rl[n + e]], av[s0:s0 + rl[n + e]], rl[n + e])
        else:
            a, b = xp[e], xp[e + 1]
            m = _reduce(S, xc[a:b], xv[a:b], b - a, oc, ov)
            got = False
            if m:
                T, got = _eliminate(T, oc, ov, m)
        rows = rows or got
    for i in range(vp.shape[0] - 1):
        a, b = vp[i], vp[i + 1]
        m = _reduce(S, vc[a:b], vv[a:b], b - a, oc, ov)
        if m:
            T, got = _eliminate(T, oc, ov, m)
            rows = rows or got
    if not rows:
        return T, np.empty(0, np.int64)
    tac, trs, trl, tisb = T[0], T[2], T[3], T[9]
    support = np.zeros(n, np.bool_)
    for q in range(n):
        if tisb[q]:
            for j in range(trs[q], trs[q] + trl[q]):
                support[tac[j]] = True
    cand = np.zeros(n, np.bool_)
    for c in range(n):
        if support[c]:
            e = lh[n + c]
            while e >= 0:
                h = nrow[e] - n
                if hid[h]:
                    cand[h] = True
                e = nnext[e]
    out = np.empty(n, np.int64)
    k = 0
    tc, tv = T[15], T[16]
    for h in range(n):
        if not cand[h] or is_extra[h]:
            continue
        s0 = rs[n + h]
        m = rl[n + h]
        inside = True
        for j in range(s0, s0 + m):
            if not support[ac[j]]:
                inside = False
                break
        if inside and _reduce(T, ac[s0:s0 + m], av[s0:s0 + m], m, tc, tv) == 0:
            out[k] = h
            k += 1
    return T, out[:k]


@njit(cache=True)
def copy_store(S):
    """An independent copy of a store without its idle room: its live rows, compacted as _ensure
    compacts them (each with room for half as much again), and the list nodes as they are, up to
    the node arena's top (nodes name slots, not places, so they need no change; walking the lists
    to drop the nodes of dead rows cost more CPU than it saved); not the arenas' idle tails nor
    the scratch (made anew: dmark 0 is never a stamp). A pass's results do not depend on where
    rows sit, so the copy gives the same results as the store."""
    isb, hid = S[9], S[10]
    n = isb.shape[0]
    rs, rl, rk = np.zeros(2 * n, np.int32), np.zeros(2 * n, np.int32), np.zeros(2 * n, np.int32)
    ac, av, top = _rows_compacted(S[0], S[1], S[2], S[3], S[4], isb, hid, rs, rl, rk, 0)
    meta = S[14].copy()
    meta[1] = top
    nodes = meta[2]
    nrow, nnext = _arenas(nodes, 0)
    nrow[:nodes] = S[5][:nodes]
    nnext[:nodes] = S[6][:nodes]
    return (ac, av, rs, rl, rk, nrow, nnext, S[7].copy(), S[8].copy(), isb.copy(), hid.copy(), S[11].copy(),
            np.zeros(n, np.int64), np.zeros(n, np.int64), meta,
            np.empty(n + 1, np.int64), np.empty(n + 1, np.int64), np.empty(n + 1, np.int64),
            np.empty(n + 1, np.int64), np.empty(n + 1, np.int64), np.empty(n + 1, np.int64))


@njit(cache=True)
def store_use(S):
    """[row arena length, its top, row entries live, row room of live rows; node arena length,
    its top, nodes still needed] (bench_engine --memory: where a store's bytes go)."""
    rl, rk, nrow, nnext, lh, isb, hid, meta = S[3], S[4], S[5], S[6], S[7], S[9], S[10], S[14]
    n = isb.shape[0]
    out = np.zeros(7, np.int64)
    out[0], out[1], out[4], out[5] = S[0].shape[0], meta[1], nrow.shape[0], meta[2]
    for k in range(2 * n):
        if _slot_live(isb, hid, k):
            out[2] += rl[k]
            out[3] += rk[k]
        e = lh[k]
        while e >= 0:
            if _slot_live(isb, hid, nrow[e]):
                out[6] += 1
            e = nnext[e]
    return out


@njit(cache=True)
def hide_reduced(S, xp, xc, xv, fh_sorted):
    """The forced-hidden cells hidden in a store that already holds the published span: each x
    reduced by it first; one that reduces to nothing is determined (what start_pass gives when
    it hides them before publishing)."""
    det, oc, ov = S[11], S[15], S[16]
    for i in range(fh_sorted.shape[0]):
        h = fh_sorted[i]
        a, b = xp[h], xp[h + 1]
        m = _reduce(S, xc[a:b], xv[a:b], b - a, oc, ov) if b > a else 0
        if m:
            S = _hide(S, h, oc, ov, m)
        else:
            det[h] = True
    return S


@njit(cache=True)
def _row_without(ac, av, start, length, drop, tc, tv):
    """Row ac/av[start:start + length] less the columns in `drop`, into tc/tv; returns its length."""
    m = 0
    for j in range(start, start + length):
        if not drop[ac[j]]:
            tc[m] = ac[j]
            tv[m] = av[j]
            m += 1
    return m


@njit(cache=True)
def project_store(S, drop):
    """A new store (nothing hidden) whose basis spans the basis rows of S with the columns in
    `drop` (a mask) taken out. A row keeping its pivot stays a fully reduced row (0 at every
    other pivot); one whose pivot is dropped is reduced and published again."""
    ac, av, rs, rl, isb = S[0], S[1], S[2], S[3], S[9]
    n = isb.shape[0]
    N = new_store(n)
    tc = np.empty(n + 1, np.int64)
    tv = np.empty(n + 1, np.int64)
    for q in range(n):
        if isb[q] and not drop[q]:
            m = _row_without(ac, av, rs[q], rl[q], drop, tc, tv)
            N = _ensure(N, m + m // 2 + 2, m)
            _add_row(N, q, tc, tv, m, 0)
            N[9][q] = True
    dummy = np.empty(0, np.int64)
    for q in range(n):
        if isb[q] and drop[q]:
            m = _row_without(ac, av, rs[q], rl[q], drop, tc, tv)
            if m:
                m = _reduce(N, tc, tv, m, N[15], N[16])
                if m:
                    N = _add(N, N[15], N[16], m, 0, dummy)
    return N


@njit(cache=True)
def exposed_each(S, T, ap, vp, vc, vv, mp, mc, xp, xc, xv):
    """exposed_by(S, T, [], vectors of a) for every set a of vectors (rows ap[a] .. ap[a + 1] - 1
    of the CSR vp, vc, vv), less that set's cells mc[mp[a]:mp[a + 1]]: one call for all academy
    checks of a round. Returns (T, CSR pointers, cells sorted within each set)."""
    n = xp.shape[0] - 1
    k = ap.shape[0] - 1
    none = np.empty(0, np.int64)
    mark = np.zeros(n, np.bool_)
    op = np.zeros(k + 1, np.int64)
    oc = np.empty(16, np.int64)
    top = 0
    for a in range(k):
        T, got = exposed_by(S, T, none, vp[ap[a]:ap[a + 1] + 1], vc, vv, xp, xc, xv)
        for j in range(mp[a], mp[a + 1]):
            mark[mc[j]] = True
        for i in range(got.shape[0]):
            if not mark[got[i]]:
                if top == oc.shape[0]:
                    grown = np.empty(2 * top, np.int64)
                    grown[:top] = oc
                    oc = grown
                oc[top] = got[i]
                top += 1
        for j in range(mp[a], mp[a + 1]):
            mark[mc[j]] = False
        op[a + 1] = top
    return T, op, oc[:top]


@njit(cache=True)
def nullspace(n, rp, rc, rv, rank):
    """gauss.nullspace over local columns: the relation rows (CSR, in the order to add them)
    eliminated with pivot min rank; returns x as CSR (indptr, cols, vals)."""
    S = new_store(n)
    oc, ov = S[15], S[16]
    for i in range(rp.shape[0] - 1):
        a, b = rp[i], rp[i + 1]
        m = _reduce(S, rc[a:b], rv[a:b], b - a, oc, ov)
        if m:
            S = _add(S, oc, ov, m, 2, rank)
    ac, av, rs, rl, isb = S[0], S[1], S[2], S[3], S[9]
    xp = np.zeros(n + 1, np.int64)
    for v in range(n):
        xp[v + 1] = xp[v] + (rl[v] - 1 if isb[v] else 1)
    xc = np.empty(xp[n], np.int64)
    xv = np.empty(xp[n], np.int64)
    for v in range(n):
        k = xp[v]
        if isb[v]:
            for j in range(rs[v], rs[v] + rl[v]):
                if ac[j] != v:
                    xc[k] = ac[j]
                    xv[k] = P - av[j]
                    k += 1
        else:
            xc[k] = v
            xv[k] = 1
    return xp, xc, xv


@njit(cache=True)
def project(n, xp, xc, xv, drop):
    """x with the columns in `drop` (a mask) taken out of every vector."""
    op = np.zeros(n + 1, np.int64)
    oc = np.empty(xc.shape[0], np.int64)
    ov = np.empty(xc.shape[0], np.int64)
    k = 0
    for v in range(n):
        for j in range(xp[v], xp[v + 1]):
            if not drop[xc[j]]:
                oc[k] = xc[j]
                ov[k] = xv[j]
                k += 1
        op[v + 1] = k
    return op, oc[:k], ov[:k]


@njit(cache=True)
def determined(S):
    return np.nonzero(S[11])[0]


@njit(cache=True)
def clear_determined(S):
    S[11][:] = False


# ---- the Python side: gauss.py's functions over these arrays (global variable numbers in and out)

def ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """The positions starts[i] .. starts[i] + lens[i] - 1 for every i, one after another (the
    entries of CSR rows, without a Python loop)."""
    return np.repeat(starts - np.concatenate(([0], np.cumsum(lens)[:-1])), lens) + np.arange(int(lens.sum()))


STORE_BYTES: dict[int, int] = {}   # block size (variables) -> the largest store it held, bytes (bench_engine --memory)


def _noted(S):
    """S, its size noted in STORE_BYTES."""
    n, b = S[9].shape[0], sum(a.nbytes for a in S)
    if b > STORE_BYTES.get(n, 0):
        STORE_BYTES[n] = b
    return S


class KX:
    """x (variable -> vector over the free variables) as CSR arrays over one block's local
    columns, read as gauss.py's dict of dicts where the engine needs that (built per variable on
    first use)."""
    compiled = True

    def __init__(self, ids: np.ndarray, xp: np.ndarray, xc: np.ndarray, xv: np.ndarray) -> None:
        self.ids, self.xp, self.xc, self.xv = ids, xp, xc, xv
        self.n = len(ids)
        self._dicts: dict[int, dict[int, int]] | None = None
        self._tmp = None

    def scratch(self):
        """A store for the kernel's short-lived echelon forms (exposed_by, in_span_with)."""
        if self._tmp is None:
            self._tmp = new_store(self.n)
        return self._tmp

    def local(self, vars_) -> np.ndarray:
        return local_index(self.ids, vars_)

    def mask(self, vars_) -> np.ndarray:
        m = np.zeros(self.n, np.bool_)
        m[self.local(vars_)] = True
        return m

    def vectors(self, vecs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A list of dict vectors (global columns) as CSR over local columns."""
        vp = [0]
        cols: list[int] = []
        vals: list[int] = []
        for v in vecs:
            cols.extend(v)
            vals.extend(v.values())
            vp.append(len(cols))
        return np.array(vp, np.int64), self.local(cols), np.array(vals, np.int64)

    def own_coords(self, mine) -> set[int] | None:
        """engine._own_coords over the arrays: the cells of `mine` whose x is their own unit
        vector, when every x of `mine` lies within them; else None."""
        li = self.local(mine)
        a, b = self.xp[li], self.xp[li + 1]
        lens = b - a
        unit = lens == 1
        at = a[unit]
        unit[unit] = (self.xc[at] == li[unit]) & (self.xv[at] == 1)
        inside = np.zeros(self.n, np.bool_)
        inside[li[unit]] = True
        if not inside[self.xc[ranges(a, lens)]].all():
            return None
        return set(self.ids[li[unit]].tolist())

    def pack(self, vecs) -> "Packed":
        """Vectors converted once for repeated kernel calls (exposed_by, in_span_with)."""
        return Packed(vecs, self.vectors(vecs))

    def pack_own(self, coords: set[int] | None, mine) -> "Packed":
        """pack() of an academy's own vectors, made straight from the arrays (no dict per vector,
        the same CSR): the unit vectors of `coords` in order, or when None the x of each cell of
        `mine`. Only the CSR is kept (the compiled calls read nothing else)."""
        if coords is not None:
            li = self.local(sorted(coords))
            return Packed(None, (np.arange(len(li) + 1, dtype=np.int64), li, np.ones(len(li), np.int64)), self.ids)
        li = self.local(mine)
        a = self.xp[li]
        lens = self.xp[li + 1] - a
        at = ranges(a, lens)
        return Packed(None, (np.concatenate(([0], np.cumsum(lens))).astype(np.int64), self.xc[at], self.xv[at]),
                      self.ids)

    def __getitem__(self, v: int) -> dict[int, int]:
        if self._dicts is None:   # all at once: cheaper than one at a time
            ids, xp = self.ids.tolist(), self.xp.tolist()
            cols, vals = self.ids[self.xc].tolist(), self.xv.tolist()
            self._dicts = {v: dict(zip(cols[xp[i]:xp[i + 1]], vals[xp[i]:xp[i + 1]])) for i, v in enumerate(ids)}
        return self._dicts[v]

    def __contains__(self, v) -> bool:
        i = int(np.searchsorted(self.ids, v))
        return i < self.n and self.ids[i] == v

    def __iter__(self):
        return iter(self.ids.tolist())

    def __len__(self) -> int:
        return self.n


class Packed(Sequence):
    """A list of dict vectors with their CSR form over one block's local columns (KX.pack); from
    KX.pack_own only the CSR is kept, and a vector read (e.g. by a test) is made from it."""

    def __init__(self, vecs, csr, ids: np.ndarray | None = None) -> None:
        self.vecs, self.csr, self.ids = vecs, csr, ids

    def __len__(self) -> int:
        return len(self.csr[0]) - 1

    def __getitem__(self, i):
        if self.vecs is not None:
            return self.vecs[i]
        if not 0 <= i < len(self):
            raise IndexError(i)
        vp, vc, vv = self.csr
        return dict(zip(self.ids[vc[vp[i]:vp[i + 1]]].tolist(), vv[vp[i]:vp[i + 1]].tolist()))


def _csr(x: KX, vectors):
    got = getattr(vectors, "csr", None)
    return got if got is not None else x.vectors(list(vectors))


class KSpan:
    """gauss.Span in the kernel's store: `determined` (global numbers) as there."""
    compiled = True

    def __init__(self, S, x: KX) -> None:
        self.S, self.x = _noted(S), x

    @property
    def determined(self) -> set[int]:
        return set(self.x.ids[determined(self.S)].tolist())

    def rows(self, hidden: bool = False) -> dict[int, dict[int, int]]:
        """The basis (pivot -> row) or the hidden vectors (cell -> row) as gauss.Span holds them
        (global numbers), for comparing with it."""
        S, ids, n = self.S, self.x.ids, self.x.n
        alive = S[10] if hidden else S[9]
        out = {}
        for i in np.nonzero(alive)[0].tolist():
            k = n + i if hidden else i
            a, b = S[2][k], S[2][k] + S[3][k]
            out[int(ids[i])] = dict(zip(ids[S[0][a:b]].tolist(), S[1][a:b].tolist()))
        return out

    def hide(self, cells) -> None:
        """Hide more cells (each reduced by the span; one in it is determined)."""
        x = self.x
        self.S = _noted(hide_reduced(self.S, x.xp, x.xc, x.xv, x.local(sorted(cells))))

    @determined.setter
    def determined(self, value) -> None:
        clear_determined(self.S)
        if value:
            self.S[11][self.x.local(sorted(value))] = True


def local_index(ids: np.ndarray, vars_) -> np.ndarray:
    """The places of `vars_` (an array or an iterable) in the sorted block variables `ids`."""
    g = vars_.astype(np.int64, copy=False) if isinstance(vars_, np.ndarray) else np.fromiter(vars_, np.int64)
    li = np.searchsorted(ids, g)
    if len(g) and (li.max() >= len(ids) or not np.array_equal(ids[li], g)):
        raise KeyError("a variable outside this block")
    return li.astype(np.int64, copy=False)


def rel_arrays(relations, rel_ids) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(wholes, part counts, parts) of the relations `rel_ids` (in that order) of `relations`
    (indexable by relation number: structure.Relations, a dict or a list of (whole, parts))."""
    from pipelines.lib.disclosure.structure import Relations
    ids = np.asarray(list(rel_ids), np.int64)
    if isinstance(relations, Relations):
        a = relations.offsets[ids]
        lens = relations.offsets[ids + 1] - a
        return relations.wholes[ids], lens, relations.parts[ranges(a, lens)]
    got = [relations[i] for i in ids.tolist()]
    lens = np.fromiter((len(p) for _, p in got), np.int64, len(got))
    return (np.fromiter((w for w, _ in got), np.int64, len(got)), lens,
            np.fromiter(itertools.chain.from_iterable(p for _, p in got), np.int64, int(lens.sum())))


def k_nullspace(variables, relations, rel_ids, rank) -> KX:
    ids = np.array(sorted(variables), np.int64)
    x = KX(ids, np.zeros(1, np.int64), np.empty(0, np.int64), np.empty(0, np.int64))
    pos = {v: i for i, v in enumerate(sorted(variables, key=rank.__getitem__))}
    rank_local = np.array([pos[v] for v in ids.tolist()], np.int64)
    # the relation rows {whole: 1, part: -1 per time it is a part} (an entry summing to 0 left
    # out), columns in first-seen order, added the fewest parts first, then the most leaf-like
    # wholes first (ties: as given). Any order gives the same x (the RREF of the rows, columns in
    # rank order); this one adds a rollup over every academy (a trust total) after the academies'
    # rows, reduced once, instead of before them, when each academy pivot added later was
    # eliminated from it: time in academies squared (the largest block of 400 national academies:
    # 4.4 -> 0.45 CPU-s)
    wholes, lens, parts = rel_arrays(relations, rel_ids)
    order = np.lexsort((-rank_local[x.local(wholes)], lens))
    a = np.concatenate(([0], np.cumsum(lens)))[:-1]
    lens = lens[order]
    row = np.repeat(np.arange(len(order), dtype=np.int64), lens + 1)
    first = np.concatenate(([0], np.cumsum(lens + 1)))[:-1]
    col = np.empty(len(row), np.int64)
    coef = np.full(len(row), -1, np.int64)
    col[first], coef[first] = wholes[order], 1
    rest = np.ones(len(row), bool)
    rest[first] = False
    col[rest] = parts[ranges(a[order], lens)]
    lc = x.local(col)
    keys, at, inv = np.unique(row * len(ids) + lc, return_index=True, return_inverse=True)
    total = np.zeros(len(keys), np.int64)
    np.add.at(total, inv.reshape(-1), coef)
    keep = np.nonzero(total % P)[0]
    keep = keep[np.argsort(at[keep], kind="stable")]   # row by row, first-seen order within a row
    rp = np.concatenate(([0], np.cumsum(np.bincount(row[at[keep]], minlength=len(order))))).astype(np.int64)
    x.xp, x.xc, x.xv = nullspace(len(ids), rp, lc[at[keep]], total[keep] % P, rank_local)
    return x


def k_project(x: KX, cs) -> KX:
    xp, xc, xv = project(x.n, x.xp, x.xc, x.xv, x.mask(cs))
    return KX(x.ids, xp, xc, xv)


def k_start_pass(x: KX, forced_hidden, forced_shown) -> KSpan:
    fh = x.local(sorted(forced_hidden))
    fm = np.zeros(x.n, np.bool_)
    fm[fh] = True
    return KSpan(start_pass(new_store(x.n), x.xp, x.xc, x.xv, fh, fm, x.local(forced_shown)), x)


def k_go_on(sp: KSpan, x: KX, candidates, forced_hidden) -> list[int]:
    sp.S, got = go_on(sp.S, x.xp, x.xc, x.xv, x.local(candidates), x.mask(forced_hidden))
    _noted(sp.S)
    return x.ids[got].tolist()


def k_exposed_by(sp: KSpan, extra, x: KX, vectors=()) -> set[int]:
    vp, vc, vv = _csr(x, vectors)
    x._tmp, got = exposed_by(sp.S, x.scratch(), x.local(extra), vp, vc, vv, x.xp, x.xc, x.xv)
    _noted(x._tmp)
    return set(x.ids[got].tolist())


def k_exposed_each(sp: KSpan, x: KX, packs: "Checks") -> list[np.ndarray]:
    """k_exposed_by(sp, [], x, vectors) less the set's own cells, for each set of `packs` (Checks),
    in one compiled call: per set, the cells (global numbers, sorted)."""
    x._tmp, op, oc = exposed_each(sp.S, x.scratch(), packs.ap, packs.vp, packs.vc, packs.vv, packs.mp, packs.mc,
                                  x.xp, x.xc, x.xv)
    _noted(x._tmp)
    got = x.ids[oc]
    return [got[a:b] for a, b in zip(op[:-1].tolist(), op[1:].tolist())]


class Checks:
    """Several Packed vector sets (KX.pack_own) and each set's own cells, concatenated once per
    block for k_exposed_each."""

    def __init__(self, x: KX, packs: list, mines: list) -> None:
        vps, vcs, vvs, mls = [], [], [], []
        ap, mp, base, nv, nm = [0], [0], 0, 0, 0
        for pk, mine in zip(packs, mines):
            vp, vc, vv = pk.csr
            vps.append(vp[:-1] + base)
            vcs.append(vc)
            vvs.append(vv)
            base += len(vc)
            nv += len(vp) - 1
            ap.append(nv)
            li = x.local(mine)
            mls.append(li)
            nm += len(li)
            mp.append(nm)
        vps.append(np.array([base], np.int64))
        cat = lambda parts: np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)
        self.ap, self.mp = np.array(ap, np.int64), np.array(mp, np.int64)
        self.vp, self.vc, self.vv, self.mc = cat(vps), cat(vcs), cat(vvs), cat(mls)


class ZeroSpans:
    """The span of a block's shown zeros (every pass publishes them first), kept between passes:
    a pass starts from a copy of it (projected for an academy with own coordinates) and hides
    its forced-hidden cells reduced by it. A pass's hidden and determined cells depend only on
    the spans it builds (reduction by a fully reduced basis is the projection along its span, and
    "parallel" and "reduces to nothing" are statements about spans), not on the order the span's
    vectors were published in or on its pivots: so these passes give start_pass's results. The
    span is rebuilt when the zeros shown are not a superset of those it holds, and extended (in a
    copy) when they are."""

    def __init__(self, x: KX) -> None:
        self.x, self.zeros, self.S = x, None, None

    def _shown(self, S, cells):
        """`cells` published into store S (nothing hidden)."""
        x = self.x
        return start_pass(S, x.xp, x.xc, x.xv, np.empty(0, np.int64), np.zeros(x.n, np.bool_), x.local(cells))

    def store(self, zeros: list[int]):
        """A store (not to be changed) whose basis spans x of `zeros`."""
        if self.zeros is not None and self.zeros.issubset(zeros):
            more = [z for z in zeros if z not in self.zeros]
            if more:
                self.S = self._shown(copy_store(self.S), more)
        else:
            self.S = self._shown(new_store(self.x.n), zeros)
        self.zeros = set(zeros)
        return _noted(self.S)

    def span(self, zeros: list[int]) -> KSpan:
        """k_span_of(x, zeros), from the kept span."""
        return KSpan(self.store(zeros), self.x)

    def start(self, zeros: list[int], forced_hidden, known=(), xa: KX | None = None, cs=None) -> KSpan:
        """k_start_pass(xa or x, forced_hidden, zeros + known). With own coordinates `cs`, `xa` is
        x with them projected away (k_project), and `known` is empty."""
        x = self.x
        if cs is None:
            S, xa = copy_store(self.store(zeros)), x
            if len(known):
                S = self._shown(S, known)
        else:
            assert not len(known)
            S = project_store(self.store(zeros), x.mask(cs))
        return KSpan(hide_reduced(S, xa.xp, xa.xc, xa.xv, x.local(sorted(forced_hidden))), xa)


def k_span_of(x: KX, cells) -> KSpan:
    """gauss.span_of: a pass with nothing hidden and the cells shown, in order."""
    return k_start_pass(x, (), cells)


def k_in_span_with(basis: KSpan, vectors, targets, x: KX) -> set[int]:
    vp, vc, vv = _csr(x, vectors)
    t = list(targets)
    x._tmp, got = in_span_with(basis.S, x.scratch(), vp, vc, vv, x.local(t), x.xp, x.xc, x.xv)
    return {v for v, ok in zip(t, got.tolist()) if ok}


def warm() -> None:
    """Compile (first time on a machine) or load from the cache every kernel function, on a
    3-cell block: the engine calls this before starting worker processes, so that they load the
    cache instead of each compiling."""
    x = k_nullspace([1, 2, 3], [(1, (2, 3))], [0], {1: (-1, 0, 1), 2: (0, 0, 2), 3: (0, 0, 3)})
    sp = k_start_pass(x, {2}, [3])
    k_go_on(sp, x, [1], {2})
    k_exposed_by(sp, [2], x, [{3: 1}])
    assert [a.tolist() for a in k_exposed_each(sp, x, Checks(x, [x.pack([{3: 1}])], [[1]]))] == \
        [sorted(k_exposed_by(sp, [], x, [{3: 1}]) - {1})]
    k_in_span_with(k_span_of(x, [3]), [{2: 1}], [1, 2], x)
    k_start_pass(k_project(x, {3}), set(), [])
    z = ZeroSpans(x)
    z.start([3], {2}, [1])
    z.start([3], {2}, xa=k_project(x, {3}), cs={3})
    sp.determined = {1}
    assert sp.determined == {1}
