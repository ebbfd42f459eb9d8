"""Unique Pupil Number check letters (DfE UPN guide; research/domain.md §3.1)."""
from __future__ import annotations

LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # 23 letters, no I, O, S


def check_letter(body12: str) -> str:
    """Check letter for the 12 characters after it (positions 2-13)."""
    if len(body12) != 12:
        raise ValueError("UPN body must be 12 characters")
    total = 0
    for pos, ch in enumerate(body12, start=2):
        if ch.isdigit():
            v = int(ch)
        elif pos == 13 and ch in LETTERS:
            v = LETTERS.index(ch)
        else:
            raise ValueError(f"invalid character {ch!r} at position {pos}")
        total += v * pos
    return LETTERS[total % 23]


def is_temporary(upn: str) -> bool:
    return len(upn) == 13 and upn[-1].isalpha()


def is_temporary_expr(upn):
    """is_temporary over a polars column: 13 characters, the last a letter (isalpha = \\p{L})."""
    return upn.str.contains(r"(?s)^.{12}\p{L}$")


def upn_problem(upn: str | None) -> str | None:
    """None when valid, else a plain-English reason."""
    if upn is None or str(upn).strip() == "":
        return "the UPN is missing"
    u = str(upn).strip().upper()
    if len(u) != 13:
        return f"a UPN has 13 characters; this one has {len(u)}"
    if u[0] not in LETTERS:
        return "the first character must be a check letter (A-Z without I, O, S)"
    if not u[1:12].isdigit():
        return "characters 2 to 12 must be digits"
    if not (u[12].isdigit() or u[12] in LETTERS):
        return "the last character must be a digit (or a letter for a temporary UPN)"
    expected = check_letter(u[1:])
    if u[0] != expected:
        return f"the check letter is wrong: for these digits it should be {expected}"
    return None


def check_letter_problems(upns):
    """`upn_problem` of many UPNs at once (a polars Series of distinct UPNs that already match the
    format ^[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]$): a Series of reasons, null when valid. The same
    check letter as `check_letter`, computed column-wise (tests hold the two equal)."""
    import polars as pl

    value = {str(d): d for d in range(10)} | {ch: i for i, ch in enumerate(LETTERS)}
    total = pl.sum_horizontal([pl.col("u").str.slice(pos - 1, 1).replace_strict(value, return_dtype=pl.Int64) * pos
                               for pos in range(2, 14)])
    expected = (total % 23).replace_strict(dict(enumerate(LETTERS)), return_dtype=pl.Utf8)
    return pl.DataFrame({"u": upns}).select(
        pl.when(pl.col("u").str.slice(0, 1) != expected)
        .then(pl.lit("the check letter is wrong: for these digits it should be ") + expected)
        .alias("reason"))["reason"]


def make_upn(la: int, estab: int, year2: int, serial: int) -> str:
    body = f"{la:03d}{estab:04d}{year2:02d}{serial:03d}"
    return check_letter(body) + body
