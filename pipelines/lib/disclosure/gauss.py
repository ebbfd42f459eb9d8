"""GaussSuppression-style secondary suppression (Langsrud, Statistics Norway; domain.md §5.1).

Per connected block of variables (relations never cross blocks):

1. the relations `R y = 0` are turned into a null-space parametrisation: RREF of R with the
   columns ordered wholes first, leaves last, so pivots are wholes and free variables leaves;
   each variable c gets a vector x_c over the free variables (e_c for a free one, minus its RREF
   row for a pivot). A hidden cell h is determined by a shown set S exactly when
   x_h is in span{x_s : s in S}.
2. one pass over the candidates in publish order: keep the published span as a fully reduced
   basis and the hidden vectors reduced against it. Publishing a candidate s whose reduced
   vector r is parallel to a reduced hidden vector would determine that hidden cell, so s is
   hidden instead; otherwise s is published (r joins the basis, hidden vectors are reduced).

Arithmetic mod p = 2^31 - 1 (products of two residues fit a machine word). "Parallel" is tested
exactly (same support, proportional entries), only against hidden vectors holding the candidate's
rarest column. Mod p the relations can only differ from the rationals where p divides a minor
of the 0/±1 relation matrix; the attack (attack.py) checks the result with another prime, 2^61 - 1.
Pure functions, no I/O.

This file is the reference. The engine runs the same functions compiled (kernel.py, numba; the
same results bit for bit) when KERNEL is "compiled" (the default; env DESTINATIONS_ENGINE_KERNEL
= python | compiled): `nullspace` then returns kernel.KX, and every function below taking that x
(or a span made from it) runs in the kernel. The attack (attack.py) uses `eliminate` and
`reduce_by` here, in Python, with its own prime.
"""
from __future__ import annotations

import os
from collections import defaultdict

PRIME = (1 << 31) - 1   # products fit a machine word; the attack uses another prime


def _kernel_choice() -> str:
    k = os.environ.get("DESTINATIONS_ENGINE_KERNEL", "").strip() or "compiled"
    if k not in ("python", "compiled"):
        raise ValueError(f"DESTINATIONS_ENGINE_KERNEL={k!r}: expected python or compiled")
    return k


KERNEL = _kernel_choice()   # "compiled": the engine's passes in kernel.py; "python": this file


def _compiled(x) -> bool:
    return getattr(x, "compiled", False)

Vec = dict[int, int]


def _axpy(target: Vec, f: int, src: Vec, idx: dict, key: int, prime: int = PRIME) -> None:
    """target -= f * src (mod prime), keeping the column index idx (col -> set of keys) current."""
    for c, v in src.items():
        nv = (target.get(c, 0) - f * v) % prime
        if nv:
            if c not in target:
                idx[c].add(key)
            target[c] = nv
        elif c in target:
            del target[c]
            idx[c].discard(key)


def reduce_by(rows: dict[int, Vec], x: Vec, prime: int = PRIME) -> Vec:
    """x reduced against a fully reduced echelon form (a new dict; x is not changed)."""
    r = dict(x)
    for c, f in x.items():
        b = rows.get(c)
        if b is not None:
            for k, v in b.items():
                nv = (r.get(k, 0) - f * v) % prime
                if nv:
                    r[k] = nv
                else:
                    r.pop(k, None)
    return r


def eliminate(rows: dict[int, Vec], idx: dict[int, set[int]], row: Vec, prime: int = PRIME,
              pivot=min) -> int | None:
    """Add `row` to the fully reduced echelon form `rows` (pivot column -> row with 1
    there and 0 in every other pivot column; `idx` column -> pivots whose row holds it). The
    pivot is `pivot(row)` of the reduced row. Returns it, or None if the row was dependent.
    The one elimination loop of the engine (null space, academy checks) and the attack."""
    row = reduce_by(rows, row, prime)   # fully reduced: one pivot row never touches another pivot
    if not row:
        return None
    p = pivot(row)
    inv = pow(row[p], -1, prime)
    row = {c: v * inv % prime for c, v in row.items()}
    for q in list(idx.get(p, ())):
        _axpy(rows[q], rows[q][p], row, idx, q, prime)
    rows[p] = row
    for c in row:
        idx[c].add(p)
    return p


def blocks(n_vars: int, relations: list[tuple[int, tuple[int, ...]]]) -> tuple[list[int], list[list[int]]]:
    """(block id of every variable, relation indices of every block). Variables in no relation
    get their own block with no relations."""
    parent = list(range(n_vars))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for whole, parts in relations:
        a = find(whole)
        for p in parts:
            b = find(p)
            if a != b:
                if b < a:
                    a, b = b, a
                parent[b] = a
    roots = [find(v) for v in range(n_vars)]
    bid: dict[int, int] = {}
    block_of = [bid.setdefault(r, len(bid)) for r in roots]
    rels: list[list[int]] = [[] for _ in bid]
    for i, (whole, _) in enumerate(relations):
        rels[block_of[whole]].append(i)
    return block_of, rels


def nullspace(variables: list[int], relations: list[tuple[int, tuple[int, ...]]], rel_ids: list[int],
              rank: dict[int, tuple]) -> dict[int, Vec]:
    """x_c for every variable c of one block: its value as a combination of the free variables.
    `rank[c]` orders columns (smaller = more of a whole = pivot first). The result is the
    reduced row echelon form of the relations with the columns in rank order, the same whatever
    order the rows are added in (each row's pivot stays its smallest-rank column: eliminating a
    later pivot only adds larger-rank columns); adding relations with the most leaf-like wholes
    first makes less fill-in (a quarter to a third less time on the largest blocks)."""
    if KERNEL == "compiled":
        from pipelines.lib.disclosure import kernel
        return kernel.k_nullspace(variables, relations, rel_ids, rank)
    rows: dict[int, Vec] = {}
    idx: dict[int, set[int]] = defaultdict(set)
    for ri in sorted(rel_ids, key=lambda i: rank[relations[i][0]], reverse=True):
        whole, parts = relations[ri]
        row: Vec = {whole: 1}
        for p in parts:
            row[p] = (row.get(p, 0) - 1) % PRIME
        eliminate(rows, idx, {c: v for c, v in row.items() if v}, PRIME, lambda r: min(r, key=rank.__getitem__))
    out: dict[int, Vec] = {}
    for v in variables:
        if v in rows:
            out[v] = {c: (PRIME - x) for c, x in rows[v].items() if c != v}
        else:
            out[v] = {v: 1}
    return out


class Span:
    """The published span (fully reduced basis) and the hidden vectors reduced against it,
    both with a column index (column -> rows holding it)."""

    def __init__(self) -> None:
        self.basis: dict[int, Vec] = {}
        self.bidx: dict[int, set[int]] = defaultdict(set)
        self.hid: dict[int, Vec] = {}
        self.hidx: dict[int, set[int]] = defaultdict(set)
        self.determined: set[int] = set()   # hidden cells a forced-shown cell determined

    def reduce(self, x: Vec) -> Vec:
        return reduce_by(self.basis, x)

    def would_determine(self, r: Vec) -> bool:
        """Publishing r (reduced) would determine a hidden cell: its reduced vector is a multiple
        of r (exact test; a parallel vector has the same support, so only hidden vectors holding
        r's rarest column are compared)."""
        hidx = self.hidx
        c0 = min(r, key=lambda c: len(hidx.get(c, ())))
        cand = hidx.get(c0)
        if not cand:
            return False
        n = len(r)
        inv = None
        for h in cand:
            v = self.hid[h]
            if len(v) != n:
                continue
            if inv is None:
                inv = pow(r[c0], -1, PRIME)
            f = v[c0] * inv % PRIME
            if all(v.get(c) == y * f % PRIME for c, y in r.items()):
                return True
        return False

    def hide(self, h: int, r: Vec) -> None:
        self.hid[h] = r
        for c in r:
            self.hidx[c].add(h)

    def publish(self, r: Vec) -> None:
        q = min(r, key=lambda c: (len(self.bidx.get(c, ())) + len(self.hidx.get(c, ())), c))
        inv = pow(r[q], -1, PRIME)
        r = {c: v * inv % PRIME for c, v in r.items()}
        for p in list(self.bidx.get(q, ())):
            b = self.basis[p]
            _axpy(b, b[q], r, self.bidx, p)
        for h in list(self.hidx.get(q, ())):
            v = self.hid[h]
            _axpy(v, v[q], r, self.hidx, h)
            if not v:   # only a forced-shown cell can do this: h is known to this audience
                del self.hid[h]
                self.determined.add(h)
        self.basis[q] = r
        for c in r:
            self.bidx[c].add(q)


def gauss_pass(x: dict[int, Vec], candidates: list[int], forced_hidden: set[int],
               forced_shown: list[int] = ()) -> tuple[list[int], Span]:
    """One pass: forced-hidden cells are hidden, forced-shown cells published first, then each
    candidate (in publish order) is published unless that would determine a hidden cell.
    Returns the candidates hidden and the final span."""
    sp = start_pass(x, forced_hidden, forced_shown)
    return go_on(sp, x, candidates, forced_hidden), sp


def start_pass(x: dict[int, Vec], forced_hidden: set[int], forced_shown: list[int] = ()) -> Span:
    """The first part of gauss_pass: its span once the forced cells are in."""
    if _compiled(x):
        from pipelines.lib.disclosure import kernel
        return kernel.k_start_pass(x, forced_hidden, forced_shown)
    sp = Span()
    for h in sorted(forced_hidden):
        r = x[h]
        if r:
            sp.hide(h, dict(r))
        else:
            sp.determined.add(h)   # fixed by the structure alone (e.g. a one-part whole minus it)
    for s in forced_shown:
        if s in forced_hidden:
            continue
        r = sp.reduce(x[s])
        if r:
            sp.publish(r)
    return sp


def go_on(sp: Span, x: dict[int, Vec], candidates: list[int], forced_hidden: set[int]) -> list[int]:
    """The candidate part of gauss_pass, in place on `sp`: a pass may be run in pieces (a list
    of candidates, then the next ones) with the same result. Returns the candidates hidden."""
    if _compiled(x):
        from pipelines.lib.disclosure import kernel
        return kernel.k_go_on(sp, x, candidates, forced_hidden)
    newly: list[int] = []
    for s in candidates:
        if s in forced_hidden:
            continue
        r = sp.reduce(x[s])
        if not r:
            continue
        if sp.would_determine(r):
            sp.hide(s, r)
            newly.append(s)
        else:
            sp.publish(r)
    return newly


def exposed_by(sp: Span, extra: list[int], x: dict[int, Vec], vectors: list[Vec] = ()) -> set[int]:
    """Hidden cells of `sp` (not in `extra`) that become determined when the cells `extra` (and
    any `vectors`) are added to the published span: x~_h in span{x~_e}. The span itself is not
    changed."""
    if _compiled(x):
        from pipelines.lib.disclosure import kernel
        return kernel.k_exposed_by(sp, extra, x, vectors)
    extra_set = set(extra)
    vecs = [sp.reduce(x[e]) if e not in sp.hid else dict(sp.hid[e]) for e in extra]
    vecs += [sp.reduce(v) for v in vectors]
    rows: dict[int, Vec] = {}
    idx: dict[int, set[int]] = defaultdict(set)
    for v in vecs:
        eliminate(rows, idx, v)
    if not rows:
        return set()
    support = set()
    for r in rows.values():
        support.update(r)
    cands = set()
    for c in support:
        cands.update(sp.hidx.get(c, ()))
    out = set()
    for h in sorted(cands - extra_set):
        v = sp.hid[h]
        if not support.issuperset(v):
            continue
        if not reduce_by(rows, v):
            out.add(h)
    return out


def span_of(x: dict[int, Vec], cells: list[int]) -> dict[int, Vec]:
    """A fully reduced basis of span{x_c : c in cells} (published in order, as a pass would)."""
    if _compiled(x):
        from pipelines.lib.disclosure import kernel
        return kernel.k_span_of(x, cells)
    sp = Span()
    for c in cells:
        r = sp.reduce(x[c])
        if r:
            sp.publish(r)
    return sp.basis


def in_span_with(basis: dict[int, Vec], vectors: list[Vec], targets, x: dict[int, Vec]) -> set[int]:
    """The cells of `targets` with x_t in span(basis) + span(vectors), `basis` a fully reduced
    echelon form (span_of). Reducing by `basis` is a linear projection whose kernel is its span,
    so x_t is in the sum exactly when its reduction is in the span of the reduced `vectors`."""
    if _compiled(x):
        from pipelines.lib.disclosure import kernel
        return kernel.k_in_span_with(basis, vectors, targets, x)
    rows: dict[int, Vec] = {}
    idx: dict[int, set[int]] = defaultdict(set)
    for v in vectors:
        eliminate(rows, idx, reduce_by(basis, v))
    out = set()
    for t in targets:
        r = reduce_by(basis, x[t])
        if not r or (rows and not reduce_by(rows, r)):
            out.add(t)
    return out


def project(x: dict[int, Vec], cs: set[int], variables: list[int]) -> dict[int, Vec]:
    """x with the coordinates `cs` taken out of every vector (an academy pass projects its own
    free coordinates away)."""
    if _compiled(x):
        from pipelines.lib.disclosure import kernel
        return kernel.k_project(x, cs)
    return {v: ({c: y for c, y in x[v].items() if c not in cs} if cs.intersection(x[v]) else x[v])
            for v in variables}
