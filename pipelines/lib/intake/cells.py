"""Cell parsers and the formula guard, shared by every kind of file."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import polars as pl

# A text cell starting with one of these is run as a formula by a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_RE = r"^[=+\-@\t\r]"
VALUE_CHARS = 60       # a value shown in feedback
TEXT_CHARS = 200       # a free-text value stored in the warehouse


def clean(v) -> str | None:
    """A cell as text: non-breaking spaces to spaces, trimmed, '' -> None."""
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == datetime.min.time() else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v).replace("\u00a0", " ").strip()
    return s or None


def shorten(s: str, limit: int = VALUE_CHARS) -> str:
    """Cut a long value, saying so: 'abc… (shortened: 5,242,880 characters)'."""
    if len(s) <= limit:
        return s
    return f"{s[:limit]}… (shortened: {len(s):,} characters)"


def safe_value(v, limit: int = VALUE_CHARS) -> str | None:
    """A cell value fit to show in feedback or an export: short, and never starting a formula."""
    if v is None:
        return None
    s = shorten(str(v), limit)
    return "'" + s if s.startswith(FORMULA_PREFIXES) else s


def neutralise(expr: pl.Expr) -> pl.Expr:
    """Prefix an apostrophe to text that would start a formula (vectorised safe_value, no cut)."""
    return pl.when(expr.str.contains(FORMULA_RE)).then(pl.lit("'") + expr).otherwise(expr)


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%d/%m/%y",
                 "%d %B %Y", "%d %b %Y")
_SERIAL_MIN, _SERIAL_MAX = 20000, 80000   # Excel day numbers 1954..2118


def parse_date(v) -> date | None:
    """ISO or UK dates (time of day ignored), or an Excel serial day number in a sane range."""
    if v is None:
        return None
    s = str(v).strip()
    if len(s) > 40:
        return None
    if re.match(r"^\d{4}-\d{2}-\d{2}[T ]", s):
        s = s[:10]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    if re.fullmatch(r"\d{5}(\.0+)?", s):
        n = int(float(s))
        if _SERIAL_MIN < n < _SERIAL_MAX:
            return date(1899, 12, 30) + timedelta(days=n)
    return None


# The forms nearly every file uses, parsed by polars exactly as parse_date parses them (ASCII digits, a
# year from 1000, nothing after the date but a time): any other value goes through parse_date itself.
_ISO_DAY = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$"
_ISO_TIME = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}[T ][0-9:.]{1,29}$"
_UK_DAY = r"^[0-9]{2}/[0-9]{2}/[1-9][0-9]{3}$"


def parse_dates(s: pl.Series) -> pl.Series:
    """`parse_date` over a column: the common forms vectorised, any other value once per distinct value."""
    v = pl.col("v")
    iso = v.str.contains(_ISO_DAY) | v.str.contains(_ISO_TIME)
    uk = v.str.contains(_UK_DAY)
    fast = s.rename("v").to_frame().select(
        pl.when(iso).then(v.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
        .when(uk).then(v.str.to_date("%d/%m/%Y", strict=False)).alias("d"),
        (v.is_not_null() & ~(iso | uk)).fill_null(False).alias("slow"))
    out, slow = fast["d"], fast["slow"]
    if slow.any():
        idx = slow.arg_true()
        out = out.scatter(idx, map_unique_series(s.gather(idx), parse_date, pl.Date))
    return out.rename(s.name)


def parse_int(v, pattern: str = r"^(?:year|yr|y|bm|benchmark|gatsby benchmark)?\s*(\d{1,2})(?:\.0+)?\b"
              ) -> int | None:
    """'11', 'Year 11', 'Y11', 'BM6', 'Benchmark 6', '6 - Experiences of workplaces' -> int."""
    if v is None:
        return None
    m = re.match(pattern, str(v).strip().lower()[:200])
    return int(m.group(1)) if m else None


def academic_year_of(d: date) -> str:
    start = d.year if d.month >= 9 else d.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def term_of(d: date) -> str:
    """autumn (Sep-Dec), spring (Jan-Apr), summer (May-Aug)."""
    return "autumn" if d.month >= 9 else ("spring" if d.month <= 4 else "summer")


def map_unique(expr: pl.Expr, fn, dtype) -> pl.Expr:
    """Apply a Python function once per distinct non-null value (fast on long exports)."""
    def f(s: pl.Series) -> pl.Series:
        return map_unique_series(s, fn, dtype)
    return expr.map_batches(f, return_dtype=dtype)


SMALL_SERIES = 5_000   # below this, mapping in Python beats polars' per-call overhead (one file's column)


def map_unique_series(s: pl.Series, fn, dtype) -> pl.Series:
    if len(s) <= SMALL_SERIES:
        memo: dict = {}
        out = []
        for v in s.to_list():
            if v is None:
                out.append(None)
            else:
                if v not in memo:
                    memo[v] = fn(v)
                out.append(memo[v])
        return pl.Series(s.name, out, dtype=dtype)
    mapping = {v: fn(v) for v in s.drop_nulls().unique().to_list()}
    if not mapping:
        return pl.Series(s.name, [None] * len(s), dtype=dtype)
    return s.replace_strict(mapping, default=None, return_dtype=dtype)
