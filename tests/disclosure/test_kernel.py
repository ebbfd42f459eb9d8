"""The compiled elimination kernel (kernel.py) against the Python reference (gauss.py): every
primitive on random sparse vectors built to cancel (dependent vectors, hidden vectors that empty,
entries that sum to zero mod p), and the whole engine on random trust hierarchies."""
from __future__ import annotations

import random

import pytest

from pipelines.lib.disclosure import gauss, kernel
from pipelines.lib.disclosure.gauss import PRIME

P = PRIME


def _random_x(rnd: random.Random, n: int = 60, free: int = 25) -> dict[int, dict[int, int]]:
    """x over `free` free variables (sparse global numbers, not 0..n-1): free ones are unit
    vectors; the others random sparse rows, some sums and differences of earlier ones (so they
    reduce to nothing or cancel entry by entry), some with entries p-1 and 1 that cancel."""
    ids = sorted(rnd.sample(range(10, 10 * n), n))
    fv = sorted(rnd.sample(ids, free))
    x: dict[int, dict[int, int]] = {}
    made: list[dict[int, int]] = []
    for v in ids:
        if v in fv:
            x[v] = {v: 1}
        elif made and rnd.random() < 0.35:   # a combination of earlier ones: dependent
            a, b = rnd.choice(made), rnd.choice(made)
            f = rnd.choice([1, P - 1, 2, rnd.randrange(1, P)])
            r = dict(a)
            for c, y in b.items():
                r[c] = (r.get(c, 0) + f * y) % P
            x[v] = {c: y for c, y in r.items() if y}
        elif rnd.random() < 0.05:
            x[v] = {}   # fixed by the structure alone
        else:
            cols = rnd.sample(fv, rnd.randint(1, 6))
            x[v] = {c: rnd.choice([1, P - 1, 2, P - 2, rnd.randrange(1, P)]) for c in cols}
        if x[v]:
            made.append(x[v])
    return x


def _kx(x: dict[int, dict[int, int]]) -> kernel.KX:
    """The same x as the kernel holds it (its rows sorted by column, as nullspace gives them)."""
    ids = sorted(x)
    loc = {v: i for i, v in enumerate(ids)}
    import numpy as np
    xp, xc, xv = [0], [], []
    for v in ids:
        for c in sorted(x[v]):
            xc.append(loc[c])
            xv.append(x[v][c])
        xp.append(len(xc))
    return kernel.KX(np.array(ids, np.int64), np.array(xp, np.int64), np.array(xc, np.int64), np.array(xv, np.int64))


@pytest.mark.parametrize("seed", range(8))
def test_a_pass_and_its_span_equal_the_reference(seed):
    """start_pass + go_on (in two pieces), then exposed_by, span_of, in_span_with and project:
    the same hidden cells, determined cells, basis and hidden vectors, entry for entry."""
    rnd = random.Random(seed)
    x = _random_x(rnd)
    kx = _kx(x)
    vs = sorted(x)
    order = vs[:]
    rnd.shuffle(order)
    fh = set(rnd.sample(vs, 8))
    shown = [v for v in order[:10] if v not in fh] + rnd.sample(sorted(fh), 2)
    cands = order[10:]
    sp, ksp = gauss.start_pass(x, fh, shown), gauss.start_pass(kx, fh, shown)
    assert isinstance(ksp, kernel.KSpan)
    got, kgot = [], []
    for piece in (cands[:15], cands[15:]):
        got += gauss.go_on(sp, x, piece, fh)
        kgot += gauss.go_on(ksp, kx, piece, fh)
    assert got == kgot and got, "a pass that hides something"
    assert sp.determined == ksp.determined
    assert sp.basis == ksp.rows() and sp.hid == ksp.rows(hidden=True)
    assert any(not x[v] for v in fh) or sp.determined or seed   # (some seeds determine cells)
    # what adding cells and vectors exposes
    extra = rnd.sample(vs, 5) + rnd.sample(sorted(sp.hid), min(2, len(sp.hid)))
    vecs = [x[v] for v in rnd.sample(vs, 4)] + [{c: 1} for c in rnd.sample(vs, 2)]
    for e, w in ((extra, vecs), ([], vecs), (extra, []), ([], [])):
        assert gauss.exposed_by(sp, e, x, w) == gauss.exposed_by(ksp, e, kx, w)
    units = [{c: 1} for c in sorted({c for r in x.values() for c in r})]   # the whole space: all exposed
    assert gauss.exposed_by(sp, [], x, units) == gauss.exposed_by(ksp, [], kx, units) == set(sp.hid) != set()
    # spans of cell sets, and membership with extra vectors
    cells = rnd.sample(vs, 20)
    b, kb = gauss.span_of(x, cells), gauss.span_of(kx, cells)
    assert b == kb.rows()
    for w in (vecs, [], [x[v] for v in cells[:3]]):
        assert gauss.in_span_with(b, w, vs, x) == gauss.in_span_with(kb, w, vs, kx)
    assert gauss.in_span_with(b, vecs, vs, x) - set(cells)   # not only the cells themselves
    # projection of coordinates
    cs = set(rnd.sample(sorted({c for r in x.values() for c in r}), 4))
    xa, kxa = gauss.project(x, cs, vs), gauss.project(kx, cs, vs)
    assert {v: r for v, r in xa.items() if r} == {v: kxa[v] for v in vs if kxa[v]}
    newly, asp = gauss.gauss_pass(xa, cands, fh, shown)
    knewly, kasp = gauss.gauss_pass(kxa, cands, fh, shown)
    assert newly == knewly and asp.determined == kasp.determined and asp.basis == kasp.rows()


def test_vectors_that_cancel_to_nothing():
    """A vector in the published span reduces to nothing (skipped); publishing a forced-shown
    cell that equals a hidden one empties that hidden vector (determined); entries that sum to
    zero mod p vanish from every row."""
    x = {10: {10: 1}, 11: {11: 1}, 12: {12: 1},
         20: {10: 1, 11: 1}, 21: {10: P - 1, 11: P - 1},            # 21 = -20
         22: {10: 1, 11: P - 1}, 23: {10: 2, 12: 5}, 24: {11: 1}}
    kx = _kx(x)
    for fh, shown, cands in (({24}, [11], [20, 21, 10, 22, 23, 12]), ({20}, [21], [10, 11, 12, 22, 23]),
                             (set(), [], [20, 21, 22, 10, 11, 12, 23, 24])):
        sp, ksp = gauss.start_pass(x, fh, shown), gauss.start_pass(kx, fh, shown)
        assert gauss.go_on(sp, x, cands, fh) == gauss.go_on(ksp, kx, cands, fh)
        assert sp.determined == ksp.determined and sp.basis == ksp.rows() and sp.hid == ksp.rows(hidden=True)
    # 24 = x_11 hidden, 11 forced shown: determined; 21 = -20 hidden, 20 shown: determined
    assert gauss.start_pass(kx, {24}, [11]).determined == {24}
    assert gauss.start_pass(kx, {20}, [21]).determined == {20}
    ksp = gauss.start_pass(kx, set(), [20, 22])
    assert ksp.rows() == gauss.start_pass(x, set(), [20, 22]).basis
    assert all(len(r) == 1 or 11 not in r for r in ksp.rows().values())   # 11 cancelled: p-1 + 1


@pytest.mark.parametrize("seed", range(6))
def test_nullspace_equals_the_reference(seed, monkeypatch):
    """The same x (entry for entry) from random relations, whatever the rank order."""
    rnd = random.Random(seed)
    values_n = 40
    rels = []
    for _ in range(18):
        whole = rnd.randrange(values_n)
        parts = tuple(rnd.sample([v for v in range(values_n) if v != whole], rnd.randint(1, 4)))
        rels.append((whole, parts))
    rels.append((3, (3, 5)))   # a whole among its own parts
    variables = sorted(set(range(values_n)))
    rank = {v: (-rnd.randint(0, 3), rnd.random() < 0.5, v) for v in variables}
    monkeypatch.setattr(gauss, "KERNEL", "python")
    ref = gauss.nullspace(variables, rels, list(range(len(rels))), rank)
    monkeypatch.setattr(gauss, "KERNEL", "compiled")
    got = gauss.nullspace(variables, rels, list(range(len(rels))), rank)
    assert isinstance(got, kernel.KX)
    assert {v: got[v] for v in variables} == ref
    assert any(len(r) > 1 for r in ref.values())


def test_the_engine_gives_the_reference_result_on_random_trusts(monkeypatch):
    """Whole engine runs with the compiled kernel equal the Python reference: hidden cells,
    reasons, stats and unresolved blocks, on 12 random trust hierarchies side by side and a
    generated trust's destination_measures over three leaving years (the shortcut test's
    cases), and on a 5-academy trust whose headline cohort a redo keeps shown."""
    import polars as pl

    from pipelines.lib.disclosure.engine import protect, suppress
    from tests.disclosure.test_engine import _mixed_cases, _redo_trust
    rnd = random.Random(31)
    relations, values, own, primary, flags, st = _mixed_cases(rnd)
    st2 = _redo_trust(rnd)
    monkeypatch.setenv("DESTINATIONS_DISCLOSURE_WORKERS", "1")

    def result():
        hidden = dict(primary)
        stats, unresolved = protect(relations, values, hidden, own, flags, flags)
        out = [hidden, stats, unresolved]
        for s in (st, st2):
            res = suppress(s)
            out += [res.cells.select("var", "hidden", "reason"),
                    {k: v for k, v in res.stats.items() if not k.endswith("seconds")}, res.unresolved]
        return out

    monkeypatch.setattr(gauss, "KERNEL", "python")
    ref = result()
    monkeypatch.setattr(gauss, "KERNEL", "compiled")
    got = result()
    assert got[0] == ref[0] and len(got[0]) > len(primary)
    assert got[1:3] == ref[1:3] and got[1]["academy_passes"] > 0
    for i in (3, 6):
        assert isinstance(got[i], pl.DataFrame) and got[i].equals(ref[i]) and got[i]["hidden"].sum() > 0
        assert got[i + 1] == ref[i + 1] and got[i + 2] == ref[i + 2]
    assert got[7]["headline_kept"] > 0 and got[1]["academy_passes_skipped"] > 0


def test_the_kernel_switch():
    import os
    if not os.environ.get("DESTINATIONS_ENGINE_KERNEL"):
        assert gauss.KERNEL == "compiled"   # the default: production runs the compiled kernel
    import subprocess
    import sys
    env = dict(os.environ, DESTINATIONS_ENGINE_KERNEL="fortran")
    out = subprocess.run([sys.executable, "-c", "import pipelines.lib.disclosure.gauss"], env=env,
                         capture_output=True, text=True)
    assert out.returncode != 0 and "DESTINATIONS_ENGINE_KERNEL='fortran'" in out.stderr


@pytest.mark.parametrize("seed", range(6))
def test_own_coords_and_packed_vectors_equal_the_reference(seed, monkeypatch):
    """KX.own_coords (array work) gives engine._own_coords' answer on dict vectors: a set of unit
    coordinates, or None when one own vector reaches outside them; packed vectors (converted once)
    give exposed_by and in_span_with the same answers as the dicts, and KX.pack_own their CSR."""
    from pipelines.lib.disclosure import engine
    rnd = random.Random(100 + seed)
    x = _random_x(rnd)
    kx = _kx(x)
    units = [v for v in x if x[v] == {v: 1}]
    sums = [v for v in x if x[v] and set(x[v]) <= set(units[:6]) and x[v] != {v: 1}]
    cases = [units[:6] + sums, units[:6] + [v for v in x if v not in units][:2], units[3:9],
             [v for v in x if not x[v]][:1] + units[:2], []]
    got_none = got_set = 0
    for mine in cases:
        monkeypatch.setattr(gauss, "KERNEL", "python")
        ref = engine._own_coords(x, mine)
        assert kx.own_coords(mine) == ref
        got_none += ref is None
        got_set += bool(ref)
        # KX.pack_own (the engine's own vectors straight from the arrays) is pack() of the dicts
        import numpy as np
        want = kx.pack([{c: 1} for c in sorted(ref)] if ref is not None else [kx[v] for v in mine]).csr
        own = kx.pack_own(ref, mine)
        assert all(np.array_equal(g, w) and g.dtype == w.dtype for g, w in zip(own.csr, want)), (ref, mine)
        assert list(own) == ([{c: 1} for c in sorted(ref)] if ref is not None else [kx[v] for v in mine])
        if ref:
            vecs = [{c: 1} for c in sorted(ref)]
            fh = set(rnd.sample(sorted(set(x) - set(mine)), 10))
            sp = gauss.start_pass(kx, fh, [])
            gauss.go_on(sp, kx, [v for v in sorted(x) if v not in fh], fh)
            assert kernel.k_exposed_by(sp, [], kx, kx.pack(vecs)) == kernel.k_exposed_by(sp, [], kx, vecs)
            basis = kernel.k_span_of(kx, sorted(x)[:20])
            assert kernel.k_in_span_with(basis, kx.pack(vecs), sorted(x), kx) == \
                kernel.k_in_span_with(basis, vecs, sorted(x), kx)
    assert got_none and got_set


@pytest.mark.parametrize("seed", range(8))
def test_all_checks_in_one_call_equal_one_at_a_time(seed):
    """k_exposed_each (every academy's check of a round in one compiled call) gives, per vector
    set, what the reference gauss.exposed_by gives for it alone, less the set's own cells:
    including empty sets, sets exposing every hidden cell and own cells among the exposed."""
    rnd = random.Random(300 + seed)
    x = _random_x(rnd)
    kx = _kx(x)
    vs = sorted(x)
    fh = set(rnd.sample(vs, 10))
    sp, ksp = gauss.start_pass(x, fh, []), gauss.start_pass(kx, fh, [])
    gauss.go_on(sp, x, [v for v in vs if v not in fh], fh)
    gauss.go_on(ksp, kx, [v for v in vs if v not in fh], fh)
    cols = sorted({c for r in x.values() for c in r})
    sets, mines = [], []
    for _ in range(12):
        k = rnd.choice([0, 1, 2, 4, 8])
        sets.append([{c: 1} for c in sorted(rnd.sample(cols, k))] if rnd.random() < 0.6
                    else [x[v] for v in rnd.sample(vs, k)])
        mines.append(rnd.sample(vs, rnd.choice([0, 2, 5])))
    sets.append([{c: 1} for c in cols])      # the whole space: every hidden cell
    mines.append(sorted(sp.hid)[:3])         # (some of them own cells)
    want = [gauss.exposed_by(sp, [], x, w) - set(m) for w, m in zip(sets, mines)]
    got = kernel.k_exposed_each(ksp, kx, kernel.Checks(kx, [kx.pack(w) for w in sets], mines))
    assert [set(g.tolist()) for g in got] == want
    assert all(g.tolist() == sorted(g.tolist()) for g in got)
    assert sum(map(len, want)) > 3 and not all(want) and want[-1] == set(sp.hid) - set(mines[-1])


@pytest.mark.parametrize("seed", range(10))
def test_passes_from_the_kept_zero_span_equal_start_pass(seed):
    """kernel.ZeroSpans (the shown zeros' span kept between passes, extended in a copy for more
    zeros, rebuilt for fewer; projected for an academy's own coordinates; the forced-hidden cells
    hidden reduced by it) gives what start_pass + go_on give: the same hidden and determined cells
    and the same span (the cells it holds), though its basis rows may differ."""
    rnd = random.Random(500 + seed)
    x = _random_x(rnd)
    kx = _kx(x)
    vs = sorted(x)
    cols = sorted({c for r in x.values() for c in r})
    zs = kernel.ZeroSpans(kx)
    zeros = rnd.sample(vs, 12)
    paths, hid, det = set(), 0, 0
    for step in range(6):
        if step % 3 == 1:      # more zeros shown (a release): the kept span extended
            zeros = zeros + rnd.sample([v for v in vs if v not in zeros], 3)
        elif step % 3 == 2:    # fewer (zeros hidden): rebuilt
            zeros = rnd.sample(zeros, len(zeros) - 4)
        before = zs.zeros
        fh = set(rnd.sample([v for v in vs if v not in zeros], 8))
        rest = [v for v in vs if v not in fh and v not in zeros]
        rnd.shuffle(rest)
        known = rest[:3] if step % 2 else []
        cands = rest[3:] if step % 2 else rest
        cs = set(rnd.sample(cols, 3)) if not step % 2 else None
        xa = kernel.k_project(kx, cs) if cs is not None else kx
        want = gauss.start_pass(xa, fh, zeros + known)
        got = zs.start(zeros, fh, known) if cs is None else zs.start(zeros, fh, xa=xa, cs=cs)
        paths.add("extended" if before is not None and before < set(zeros) else "rebuilt" if before else "new")
        assert got.determined == want.determined
        same = [kernel.k_in_span_with(sp, [], vs, xa) for sp in (want, got)]
        assert same[0] == same[1]
        newly = gauss.go_on(want, xa, cands, fh)
        assert gauss.go_on(got, xa, cands, fh) == newly
        assert got.determined == want.determined
        hid, det = hid + len(newly), det + len(want.determined)
        assert kernel.k_in_span_with(got, [], vs, xa) == kernel.k_in_span_with(want, [], vs, xa)
        # the kept span is the zeros' span, unchanged by the passes started from it
        assert kernel.k_in_span_with(zs.span(zeros), [], vs, kx) == kernel.k_in_span_with(
            kernel.k_span_of(kx, zeros), [], vs, kx)
    assert paths == {"new", "extended", "rebuilt"} and hid and det, (hid, det)


def test_the_store_arenas_are_int32_and_a_block_too_large_is_refused():
    """The arenas (columns, values, list nodes) and the per-slot and per-list arrays (row starts,
    lengths, room, list heads, counts; a copy's too) are int32: a value (< p = 2^31 - 1), a column and
    a slot fit, and numba multiplies them in int64 (the random blocks above hold p - 1 and p - 2,
    so a product that overflowed would differ from the reference). A block whose slots would not
    fit is refused before anything is allocated."""
    import numpy as np
    S = kernel.new_store(5)
    assert [S[i].dtype for i in (0, 1, 2, 3, 4, 5, 6, 7, 8)] == [np.dtype(np.int32)] * 9
    assert all(C[i].dtype == S[i].dtype for C in [kernel.copy_store(S)] for i in range(len(S)))
    assert P - 1 <= np.iinfo(np.int32).max
    with pytest.raises(OverflowError):
        kernel.new_store(1 << 30)


@pytest.mark.parametrize("seed", range(6))
def test_a_copied_store_holds_the_live_rows_only_and_goes_on_as_the_store(seed):
    """kernel.copy_store compacts: the copy holds the same basis and hidden rows, counts and
    cells (hidden, determined) as the store, not the arena room the store left behind (rows that
    grew and moved, hidden rows that emptied, the arenas' idle tails), and a
    pass goes on from it exactly as from the store (the same hidden cells, rows and determined
    cells); changing the copy leaves the store as it was."""
    import numpy as np
    rnd = random.Random(900 + seed)
    x = _random_x(rnd, n=90, free=35)
    kx = _kx(x)
    vs = sorted(x)
    fh = set(rnd.sample(vs, 12))
    rest = [v for v in vs if v not in fh]
    rnd.shuffle(rest)
    sp = kernel.k_start_pass(kx, fh, rest[:10])
    kernel.k_go_on(sp, kx, rest[10:40], fh)   # rows grow, move and empty: room left behind
    S = sp.S
    C = kernel.copy_store(S)
    used = lambda T: kernel.store_use(T)
    assert used(C)[2] == used(S)[2] and used(C)[6] == used(S)[6]           # the same live entries and nodes
    assert used(C)[1] < used(S)[1] and used(C)[0] == used(C)[1] * 3 // 2 + 1024   # the room _ensure leaves
    assert used(C)[5] == used(S)[5] and used(C)[4] == used(S)[5] * 3 // 2 + 1024   # the nodes, no idle tail
    cp = kernel.KSpan(C, kx)
    assert cp.rows() == sp.rows() and cp.rows(hidden=True) == sp.rows(hidden=True)
    assert cp.determined == sp.determined
    for i in (8, 9, 10, 11):   # counts, basis, hidden, determined
        assert np.array_equal(C[i], S[i])
    before = (sp.rows(), sp.rows(hidden=True), sp.determined)
    got = kernel.k_go_on(cp, kx, rest[40:], fh)
    assert (sp.rows(), sp.rows(hidden=True), sp.determined) == before   # the store unchanged
    assert got == kernel.k_go_on(sp, kx, rest[40:], fh)
    assert cp.rows() == sp.rows() and cp.rows(hidden=True) == sp.rows(hidden=True)
    assert cp.determined == sp.determined
