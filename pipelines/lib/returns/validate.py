"""Row and file rules for a destination return (contract §3), on polars frames.

`validate_return` takes the text table from `reader.read_return` plus a
`ValidationContext` (what the rest of the warehouse knows: the academy register,
other academies' returns, earlier rounds) and gives the typed rows to load and
every problem found. Row-level errors exclude the row; warnings keep it; a
file-level problem rejects the whole file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from pipelines.lib.intake.cells import (FORMULA_RE, SMALL_SERIES, TEXT_CHARS, map_unique_series, neutralise,
                                        safe_value)
from pipelines.lib.problems import Problem, ProblemCounts
from pipelines.lib.returns import spec
from pipelines.lib.returns.reader import ROW_COL, ReadResult
from pipelines.lib.upn import upn_problem


TYPED_COLUMNS = [
    "upn", "upn_is_temporary", "year_group", "sex", "disadvantaged", "sen_provision",
    "destination_code", "fsm_eligible", "looked_after", "ethnicity", "route", "provider",
    "provider_id", "level", "september_guarantee", "consent_follow_up", "date_ascertained",
    "pupil_name", "source_row",
]
TYPED_SCHEMA = {
    "upn": pl.Utf8, "upn_is_temporary": pl.Boolean, "year_group": pl.Int32, "sex": pl.Utf8,
    "disadvantaged": pl.Boolean, "sen_provision": pl.Utf8, "destination_code": pl.Utf8,
    "fsm_eligible": pl.Boolean, "looked_after": pl.Boolean, "ethnicity": pl.Utf8, "route": pl.Utf8,
    "provider": pl.Utf8, "provider_id": pl.Utf8, "level": pl.Utf8, "september_guarantee": pl.Utf8,
    "consent_follow_up": pl.Boolean, "date_ascertained": pl.Date, "pupil_name": pl.Utf8, "source_row": pl.Int32,
}
MAX_PER_RULE = 200          # problems listed per rule; the rest are counted in one line
MIN_OTHER_ACADEMY_ROWS = 5  # the other-academy share rejects a file only from this many pupils
MIN_CURRENT_ROWS = 20       # the "much smaller" check protects returns of at least this many pupils
_DTYPE_FOR_KIND = {"year_group": pl.Int32, "bool": pl.Boolean, "date": pl.Date}


@dataclass
class ValidationContext:
    """What validation needs to know beyond the file itself."""

    academy_urn: str
    leaving_year: str
    round_id: str
    round_kind: str = "intended"                 # intended | actual
    max_invalid_row_share: float = 0.25
    academy_in_register: bool = True
    academy_name: str | None = None
    other_academy_upns: dict[str, str] | None = None   # UPN -> URN of another academy, same year x round
    intended_upns: set[str] | None = None        # actual rounds: this academy's UPNs in the intended rounds
    previous_round_id: str | None = None
    previous_round: dict[str, str] | None = None  # UPN -> destination code in this academy's previous round
    notes: list[str] = field(default_factory=list)   # e.g. "cross-academy check not run: warehouse busy"
    max_other_academy_share: float = 0.1         # more pupils of other academies than this: rejected
    current_rows: int | None = None              # pupils in the file currently loaded for this academy x round
    min_share_of_current: float = 0.5            # a file with fewer pupils than this share of it is rejected...
    confirmed_smaller: bool = False              # ...unless the sender confirmed the cohort really shrank
    max_pupils: int = 10_000                     # more rows than any academy's leavers: rejected unread


@dataclass
class Changes:
    previous_round_id: str | None
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # upn, old, new

    def as_dict(self) -> dict:
        return {"previous_round": self.previous_round_id, "added": len(self.added),
                "removed": len(self.removed), "changed_destination": len(self.changed)}


@dataclass
class ValidationResult(ProblemCounts):
    frame: pl.DataFrame                 # typed accepted rows (TYPED_SCHEMA)
    problems: list[Problem]
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    changes: Changes | None = None
    counts: dict[str, int] | None = None   # severity -> problems found (some may not be listed)
    conflicts: list[tuple[int, str, str]] = field(default_factory=list)  # (row, UPN, other URN): data team only

    @property
    def rejected(self) -> bool:
        return any(p.severity == "file" for p in self.problems)

    @property
    def status(self) -> str:
        if self.rejected:
            return "rejected"
        if any(p.severity in ("error", "warning") for p in self.problems):
            return "accepted_with_warnings"
        return "accepted"


def empty_typed_frame() -> pl.DataFrame:
    return pl.DataFrame(schema=TYPED_SCHEMA)


def rejected_result(problems: list[Problem], rows_total: int = 0) -> ValidationResult:
    return ValidationResult(empty_typed_frame(), problems, rows_total, 0, rows_total)


_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
_LETTER_VALUE = {ch: i for i, ch in enumerate(_UPN_LETTERS)}


def upn_reasons(upn: pl.Series) -> pl.Series:
    """Per UPN: None when valid, else the plain-English reason (pipelines.lib.upn.upn_problem).

    Well-formed UPNs are checked vectorised (check letter = weighted sum mod 23); the few others
    go through upn_problem one by one for the exact wording.
    """
    frame = upn.rename("u").to_frame()
    shape = pl.col("u").str.contains(r"^[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]$").fill_null(False)
    digits = [pl.col("u").str.slice(p - 1, 1).cast(pl.Int64, strict=False).fill_null(0) * p for p in range(2, 13)]
    last = pl.col("u").str.slice(12, 1)
    last_v = (pl.when(last.str.contains(r"[0-9]")).then(last.cast(pl.Int64, strict=False))
              .otherwise(last.replace_strict(_LETTER_VALUE, default=0, return_dtype=pl.Int64)))
    total = pl.sum_horizontal(digits) + last_v * 13
    expected = (total % 23).replace_strict(dict(enumerate(_UPN_LETTERS)), default=None, return_dtype=pl.Utf8)
    out = frame.with_columns(shape.alias("shape"), pl.when(shape).then(expected).alias("expected"))
    ok = out["shape"] & (out["expected"] == out["u"].str.slice(0, 1)).fill_null(False)
    wrong_letter = out["shape"] & ~ok
    result = pl.Series("r", [None] * len(upn), dtype=pl.Utf8)
    msgs = ("the check letter is wrong: for these digits it should be " + out["expected"])
    result = out.select(
        pl.when(ok).then(None)
        .when(wrong_letter).then(msgs)
        .otherwise(None).alias("r")).to_series()
    odd = upn.is_not_null() & ~out["shape"]
    if odd.any():
        idx = odd.arg_true().to_list()
        vals = upn.gather(idx).to_list()
        fixed = [upn_problem(v) for v in vals]
        result = result.scatter(idx, pl.Series(fixed, dtype=pl.Utf8))
    return result


_map_unique = map_unique_series


def _parse_invalid(s: pl.Series, fn, dtype) -> tuple[pl.Series, pl.Series]:
    """(parsed values, mask of cells that have a value the parser refused), in one pass."""
    if len(s) > SMALL_SERIES:
        parsed = map_unique_series(s, fn, dtype)
        return parsed, s.is_not_null() & parsed.is_null()
    memo: dict = {}
    out, bad = [], []
    for v in s.to_list():
        if v is None:
            out.append(None)
            bad.append(False)
            continue
        if v not in memo:
            memo[v] = fn(v)
        out.append(memo[v])
        bad.append(memo[v] is None)
    return pl.Series(s.name, out, dtype=dtype), pl.Series(s.name, bad, dtype=pl.Boolean)


def validate_return(read: ReadResult, ctx: ValidationContext, file: str = "") -> ValidationResult:
    """Apply every rule of contract §3 to a read return."""
    problems = list(read.problems)
    if not ctx.academy_in_register:
        problems.append(Problem(
            "file", "unknown_academy",
            f"URN {ctx.academy_urn} is not in the trust's academy register (raw/academies.csv)",
            "check the URN you submitted under (6 digits, from Get Information About Schools); "
            "if the academy has just joined the trust, ask the trust data team to add it to the register",
            file=file, value=ctx.academy_urn))
    if ctx.round_kind not in ("intended", "actual"):
        problems.append(Problem("file", "unknown_round", f"round {ctx.round_id} is not configured",
                                "use one of the rounds in config/trust.yaml", file=file))
    if read.table is None or any(p.severity == "file" for p in problems):
        n = 0 if read.table is None else read.table.height
        return rejected_result(_sorted(problems), n)

    df = read.table
    n = df.height
    if n > ctx.max_pupils:
        problems.append(Problem(
            "file", "too_many_rows", f"the file has {n:,} pupil rows, more than the {ctx.max_pupils:,} one "
            "academy's return can hold, so it was not checked row by row", "send one row per leaver of "
            "your academy for this year and round (no other academies, years or blank formatted rows)",
            file=file, value=str(n)))
        return rejected_result(_sorted(problems), n)
    rows = df[ROW_COL]
    header = read.headers
    excluded = pl.Series("x", [False] * n)
    out: dict[str, pl.Series] = {}
    counts = {"error": 0, "warning": 0}
    hidden: dict[tuple[str, str], tuple[int, str, str | None]] = {}   # (severity, rule) -> (n, fix, column)
    conflicts: list[tuple[int, str, str]] = []

    def listed(severity: str, rule: str) -> int:
        return sum(1 for p in problems if p.severity == severity and p.rule == rule)

    def report(severity: str, rule: str, fix: str, column: str | None, items: list, total: int | None = None) -> None:
        """Append up to MAX_PER_RULE problems of one rule; count the rest in one closing line."""
        total = len(items) if total is None else total
        counts[severity] = counts.get(severity, 0) + total
        room = max(0, MAX_PER_RULE - listed(severity, rule))
        problems.extend(items[:room])
        if total > room:
            k, _, _ = hidden.get((severity, rule), (0, fix, column))
            hidden[(severity, rule)] = (k + total - room, fix, column)

    def add(mask: pl.Series, severity: str, rule: str, message: str, fix: str, column: str,
            values: pl.Series | None = None, messages: pl.Series | None = None) -> None:
        nonlocal excluded
        if not mask.any():
            return
        idx = mask.arg_true()
        total = len(idx)
        room = max(0, MAX_PER_RULE - listed(severity, rule))
        idx = idx.head(room)
        rws = rows.gather(idx).to_list()
        vals = values.gather(idx).to_list() if values is not None else [None] * len(idx)
        msgs = messages.gather(idx).to_list() if messages is not None else None
        col = header.get(column, column)
        items = [Problem(severity, rule, msgs[k] if msgs else message, fix, file=file,
                         row=r, column=col, value=safe_value(v)) for k, (r, v) in enumerate(zip(rws, vals))]
        report(severity, rule, fix, col, items, total)
        if severity == "error":
            excluded = excluded | mask

    # ---- formula injection in free-text columns: neutralise and warn
    for c in spec.TEXT_COLUMNS:
        if c not in df.columns:
            continue
        s = df[c]
        bad = s.str.contains(FORMULA_RE).fill_null(False)
        add(bad, "warning", "formula_injection",
            "this cell starts with a character a spreadsheet would run as a formula "
            "(=, +, - or @); it was stored as plain text with a leading apostrophe",
            "type the name or number without a leading =, +, - or @", c, None if c in spec.PERSONAL else s)
        df = df.with_columns(neutralise(pl.col(c)).alias(c))

    # ---- required values present
    for c in spec.REQUIRED:
        s = df[c]
        add(s.is_null(), "error", "missing_value",
            f"'{header.get(c, c)}' is empty; every pupil needs a value ({spec.COLUMN_BY_NAME[c].description})",
            f"fill in the {c} for this pupil", c)

    # ---- UPN
    upn = df["upn"].str.to_uppercase().str.replace_all(r"\s+", "")
    reasons = upn_reasons(upn)
    bad_check = reasons.str.starts_with("the check letter is wrong").fill_null(False)
    bad_format = reasons.is_not_null() & ~bad_check & upn.is_not_null()
    add(bad_check, "error", "upn_check_letter", "", "copy the UPN again from your MIS: "
        "one character is probably mistyped", "upn", df["upn"], reasons)
    add(bad_format, "error", "upn_format", "", "a UPN is a letter followed by 11 digits and a "
        "final digit (or letter for a temporary UPN); copy it again from your MIS", "upn",
        df["upn"], reasons)
    upn_ok = upn.is_not_null() & reasons.is_null()
    temp = upn_ok & upn.str.contains(r"[A-Z]$").fill_null(False)
    add(temp, "warning", "upn_temporary",
        "this is a temporary UPN: the pupil cannot be matched to national data until it is replaced",
        "replace it with the pupil's permanent UPN as soon as it is known", "upn", df["upn"])

    # duplicates within the file: the first row is kept, later rows excluded
    idx_frame = pl.DataFrame({"upn": upn, "ok": upn_ok, "row": rows})
    firsts = (idx_frame.filter(pl.col("ok")).group_by("upn", maintain_order=True)
              .agg(pl.col("row").first().alias("first_row")))
    first_row = idx_frame.join(firsts, on="upn", how="left", maintain_order="left")["first_row"]
    dup = upn_ok & (first_row != rows).fill_null(False)
    add(dup, "error", "upn_duplicate", "", "keep one row per pupil: delete the repeated row "
        "or correct the UPN", "upn", df["upn"],
        ("this UPN is also on row " + first_row.cast(pl.Utf8).fill_null("?") + "; only that row was loaded"))

    # returned by another academy for the same year and round: the academy is told "another academy
    # of the trust", never which (no probing of other schools' pupils); the data team gets the pairs
    cross_share = 0.0
    if ctx.other_academy_upns:
        owner = upn.replace_strict(ctx.other_academy_upns, default=None, return_dtype=pl.Utf8)
        cross = upn_ok & ~dup & owner.is_not_null()
        if cross.any():
            idx = cross.arg_true()
            conflicts = list(zip(rows.gather(idx).to_list(), upn.gather(idx).to_list(), owner.gather(idx).to_list()))
            cross_share = len(conflicts) / n
        if cross_share > ctx.max_other_academy_share and len(conflicts) >= MIN_OTHER_ACADEMY_ROWS:
            problems.append(Problem(
                "file", "many_other_academy_pupils",
                f"{len(conflicts)} of the {n} pupils in this file ({cross_share:.0%}) have already been returned "
                f"by other academies of the trust for {ctx.leaving_year} {ctx.round_id}, more than the "
                f"{ctx.max_other_academy_share:.0%} the trust accepts; the file was rejected and the trust data "
                "team has been told", "check that the file is your academy's own leavers' list (UPNs copied "
                "from your MIS) and submit it again; the trust data team will contact you", file=file))
        else:
            add(cross, "error", "upn_other_academy",
                f"this pupil has already been returned by another academy of the trust for {ctx.leaving_year} "
                f"{ctx.round_id}; the row was not loaded and the trust data team will resolve it",
                "check the UPN; if the pupil left for another academy, remove them from this return "
                "(the trust data team can move a pupil between academies)", "upn", df["upn"])
    out["upn"] = upn
    out["upn_is_temporary"] = upn.str.contains(r"[A-Z]$").fill_null(False)

    # ---- coded required columns
    for c in ("year_group", "sex", "disadvantaged", "sen_provision"):
        col = spec.COLUMN_BY_NAME[c]
        s = df[c]
        parsed, invalid = _parse_invalid(s, spec.PARSERS[col.kind], _DTYPE_FOR_KIND.get(col.kind, pl.Utf8))
        add(invalid, "error", "invalid_value",
            f"'{header.get(c, c)}' must be {spec.KIND_ALLOWED[col.kind]}",
            f"change it to {spec.KIND_ALLOWED[col.kind]}", c, s)
        out[c] = parsed

    # ---- destination code
    s = df["destination_code"]
    dest = _map_unique(s, spec.parse_destination, pl.Utf8)
    pre16 = s.is_not_null() & dest.is_null() & _map_unique(s, spec.is_pre16_code, pl.Boolean).fill_null(False)
    add(pre16, "error", "pre16_code",
        "codes 110-150 describe pupils still in compulsory schooling and are not valid in a leavers' return",
        "give the pupil's post-16 destination (e.g. 210 school sixth form, 230 further education, "
        "310 apprenticeship) or UND if undecided in an intended round", "destination_code", s)
    unknown = s.is_not_null() & dest.is_null() & ~pre16
    add(unknown, "error", "unknown_destination_code",
        "this is not a destination code on the trust's code list",
        "use a code from the code list (e.g. 210, 230, 310, 540, 810) or its label; "
        "the template's drop-down shows them all", "destination_code", s)
    if ctx.round_kind == "actual":
        und = (dest == "UND").fill_null(False)
        add(und, "error", "undecided_in_actual_round",
            f"UND (undecided) is only allowed in the intended rounds; {ctx.round_id} records what the "
            "pupil is actually doing", "give the pupil's actual activity, or 810 if it is not known",
            "destination_code", s)
    out["destination_code"] = dest

    # ---- optional columns: an invalid value is blanked and warned about, the row is kept
    for c in spec.OPTIONAL:
        col = spec.COLUMN_BY_NAME[c]
        if c not in df.columns:
            out[c] = pl.Series(c, [None] * n, dtype=_DTYPE_FOR_KIND.get(col.kind, pl.Utf8))
            continue
        s = df[c]
        if col.kind == "text":
            add(s.str.len_chars().fill_null(0) > TEXT_CHARS, "warning", "value_shortened",
                f"this value is longer than {TEXT_CHARS} characters; only the first {TEXT_CHARS} were kept",
                f"shorten it to at most {TEXT_CHARS} characters", c, None if c in spec.PERSONAL else s)
            out[c] = s.str.replace(r"^(\d+)\.0+$", "${1}").str.slice(0, TEXT_CHARS)
            continue
        parsed, invalid = _parse_invalid(s, spec.PARSERS[col.kind], _DTYPE_FOR_KIND.get(col.kind, pl.Utf8))
        add(invalid, "warning", "invalid_value",
            f"'{header.get(c, c)}' must be {spec.KIND_ALLOWED[col.kind]}; the value was left blank "
            "and the rest of the row loaded", f"change it to {spec.KIND_ALLOWED[col.kind]} or leave it empty",
            c, s)
        out[c] = parsed
    if ctx.round_kind == "actual" and "september_guarantee" in df.columns:
        pass  # allowed but not used for actual rounds
    out["source_row"] = rows.cast(pl.Int32)

    # ---- cross-round warnings
    if ctx.round_kind == "actual" and ctx.intended_upns is not None:
        known = ctx.intended_upns
        never = upn_ok & ~excluded & ~upn.is_in(list(known)).fill_null(False)
        add(never, "warning", "not_in_intended_rounds",
            f"this pupil was not in this academy's intended-destination returns for {ctx.leaving_year}",
            "check the UPN; if the pupil joined late, no action is needed", "upn", df["upn"])

    typed = pl.DataFrame({c: out[c] for c in TYPED_COLUMNS}).cast(TYPED_SCHEMA)
    accepted = typed.filter(~excluded)
    rows_rejected = int(excluded.sum())

    changes = None
    if ctx.previous_round is not None:
        prev = ctx.previous_round
        now = dict(zip(accepted["upn"].to_list(), accepted["destination_code"].to_list()))
        all_now = set(upn.filter(upn_ok).to_list())
        changes = Changes(ctx.previous_round_id)
        changes.added = sorted(u for u in now if u not in prev)
        changes.removed = sorted(u for u in prev if u not in all_now)
        changes.changed = sorted((u, prev[u], d) for u, d in now.items() if u in prev and prev[u] != d)
        vanished_fix = ("add the pupil back with their current destination (810 if not known), or tell the "
                        "trust data team why they left the cohort")
        report("warning", "pupil_vanished", vanished_fix, header.get("upn", "upn"), [Problem(
            "warning", "pupil_vanished", f"this pupil was in your {ctx.previous_round_id} return but is not in this one",
            vanished_fix, file=file, column=header.get("upn", "upn"), value=u) for u in changes.removed])

    for (severity, rule), (k, fix, column) in hidden.items():
        problems.append(Problem(severity, rule, f"and {k} more row(s) with this problem, not listed here to keep "
                                "the report short", fix, file=file, column=column))

    def finish(frame, accepted_n, rejected_n):
        return ValidationResult(frame, _sorted(problems), n, accepted_n, rejected_n, changes, counts, conflicts)

    if any(p.severity == "file" for p in problems):
        return finish(empty_typed_frame(), 0, n)
    if (ctx.current_rows and ctx.current_rows >= MIN_CURRENT_ROWS and not ctx.confirmed_smaller
            and accepted.height < ctx.min_share_of_current * ctx.current_rows):
        problems.append(Problem(
            "file", "much_smaller_than_current",
            f"this file has {accepted.height} pupil(s) to load, far fewer than the {ctx.current_rows} in the "
            f"return already loaded for {ctx.leaving_year} {ctx.round_id}; it was not allowed to replace it",
            "send the complete return (every leaver, not only changes); if the cohort really is this small, "
            "submit again with `destinations submit --confirm-smaller`", file=file,
            value=f"{accepted.height}/{ctx.current_rows}"))
        return finish(empty_typed_frame(), 0, n)
    if n and rows_rejected / n > ctx.max_invalid_row_share:
        problems.append(Problem(
            "file", "too_many_invalid_rows",
            f"{rows_rejected} of {n} pupil rows ({rows_rejected / n:.0%}) have errors, more than the "
            f"{ctx.max_invalid_row_share:.0%} the trust accepts, so the whole file was rejected",
            "correct the rows listed below and submit the file again", file=file,
            value=f"{rows_rejected}/{n}"))
        return finish(empty_typed_frame(), 0, n)

    return finish(accepted, accepted.height, rows_rejected)


_SEV_ORDER = {"file": 0, "error": 1, "warning": 2}
_COL_ORDER = {c.name: i for i, c in enumerate(spec.COLUMNS)}


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.severity != "file", p.row if p.row is not None else 10**9,
                                           _SEV_ORDER[p.severity]))


def today() -> date:
    return date.today()
