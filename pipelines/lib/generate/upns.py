"""Vectorised UPN construction (same algorithm as pipelines.lib.upn.make_upn)."""
from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.lib.upn import LETTERS

_LET = np.array(list(LETTERS))
_WEIGHTS = np.arange(2, 14)


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) array of the decimal digits of values, most significant first."""
    v = np.asarray(values, dtype=np.int64).copy()
    out = np.empty((len(v), width), dtype=np.int64)
    for i in range(width - 1, -1, -1):
        out[:, i] = v % 10
        v //= 10
    return out


def make_upns(la, estab, year2, serial, temporary=None) -> np.ndarray:
    """UPNs for arrays of (LA, establishment, 2-digit allocation year, serial).

    Permanent: LA(3) + estab(4) + year(2) + serial(3 digits). Temporary (where `temporary`
    is true): the serial's last 2 digits then a letter LETTERS[serial // 100 % 23], so
    distinct serials (< 2300) give distinct temporary UPNs, never equal to a permanent one."""
    la, estab, year2, serial = (np.asarray(a, dtype=np.int64) for a in (la, estab, year2, serial))
    n = len(la)
    if n == 0:
        return np.array([], dtype=object)
    temporary = np.zeros(n, bool) if temporary is None else np.asarray(temporary, bool)
    head = la * 10**6 + estab * 100 + year2 % 100          # 9 digits
    perm_tail = serial % 1000                                # 3 digits
    tmp_tail = serial % 100                                  # 2 digits + letter
    letter = (serial // 100) % 23
    vals = np.concatenate([_digits(head, 9), _digits(perm_tail, 3)], axis=1)
    tvals = np.concatenate([_digits(head, 9), _digits(tmp_tail, 2), letter[:, None]], axis=1)
    vals = np.where(temporary[:, None], tvals, vals)
    check = _LET[(vals * _WEIGHTS).sum(axis=1) % 23]
    perm = pl.Series((head * 1000 + perm_tail)).cast(pl.Utf8).str.zfill(12)
    tmp = (pl.Series(head * 100 + tmp_tail).cast(pl.Utf8).str.zfill(11)
           + pl.Series(_LET[letter]))
    body = pl.select(pl.when(pl.lit(pl.Series(temporary))).then(tmp).otherwise(perm)).to_series()
    return (pl.Series(check) + body).to_numpy()
