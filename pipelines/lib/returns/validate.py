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
                                        parse_dates, safe_value)
from pipelines.lib.problems import Problem, ProblemCounts
from pipelines.lib.returns import spec
from pipelines.lib.returns.reader import ROW_COL, ReadResult, stack_files
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


_F = "__file"      # which file of a batch a row came from
_I = "__i"         # row position in the batch (file order kept)


@dataclass
class Checked:
    """A file whose row rules are done; its file-level verdict (`finish`) can wait for the files before it
    (the "much smaller than the current return" check depends on which file is current by then)."""

    problems: list[Problem]      # in the order the rules found them, not yet sorted
    frame: pl.DataFrame          # typed rows that passed the row rules (TYPED_SCHEMA)
    rows_total: int
    rows_rejected: int
    changes: Changes | None
    counts: dict[str, int]
    conflicts: list[tuple[int, str, str]]


def _early_verdict(read: ReadResult, ctx: ValidationContext, file: str) -> ValidationResult | None:
    """The file-level problems found before any row is checked (a rejected result), else None."""
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
    n = read.table.height
    if n > ctx.max_pupils:
        problems.append(Problem(
            "file", "too_many_rows", f"the file has {n:,} pupil rows, more than the {ctx.max_pupils:,} one "
            "academy's return can hold, so it was not checked row by row", "send one row per leaver of "
            "your academy for this year and round (no other academies, years or blank formatted rows)",
            file=file, value=str(n)))
        return rejected_result(_sorted(problems), n)
    return None


def validate_return(read: ReadResult, ctx: ValidationContext, file: str = "") -> ValidationResult:
    """Apply every rule of contract §3 to a read return (a batch of one: the same code as a load's batch)."""
    return validate_batch([(read, ctx, file)])[0]


def validate_batch(items: list[tuple[ReadResult, ValidationContext, str]]) -> list[ValidationResult]:
    """`validate_return` for many files at once: each gets exactly what it gets alone."""
    return [finish(c, ctx, file) if isinstance(c, Checked) else c
            for c, (_, ctx, file) in zip(check_rows(items), items)]


def check_rows(items: list[tuple[ReadResult, ValidationContext, str]]) -> list[Checked | ValidationResult]:
    """The row rules of many files in one polars frame: per file a `Checked` (or a rejected result when
    the file fails before its rows are looked at). Each file's problems, caps, order and wording are
    those it gets alone (tests/returns/test_validate_batch.py)."""
    out: list[Checked | ValidationResult | None] = [None] * len(items)
    live = []
    for i, (read, ctx, file) in enumerate(items):
        out[i] = _early_verdict(read, ctx, file)
        if out[i] is None:
            live.append(i)
    if live:
        for i, checked in zip(live, _check_files([items[i] for i in live])):
            out[i] = checked
    return out  # type: ignore[return-value]


@dataclass
class _Rule:
    """One `add` of the single-file rules, in the order they run (the order problems are listed in)."""

    severity: str
    rule: str
    mask: pl.Series
    column: str                     # canonical column (shown as the file's header)
    fix: str
    values: pl.Series | None = None
    message: object = ""            # str, callable(ctx, header) -> str, or a per-row pl.Series


def _check_files(items: list[tuple[ReadResult, ValidationContext, str]]) -> list[Checked]:
    ctxs = [ctx for _, ctx, _ in items]
    df = stack_files([read.table for read, _, _ in items], _F)
    df = df.with_columns([pl.lit(None, pl.Utf8).alias(c) for c in spec.COLUMN_BY_NAME if c not in df.columns])
    n_of = [read.table.height for read, _, _ in items]
    fcol = df[_F]
    rows = df[ROW_COL]
    rules: list[_Rule] = []

    def in_files(files) -> pl.Series:
        return fcol.is_in(sorted(files)) if files else pl.Series([False] * df.height, dtype=pl.Boolean)

    def header_msg(rest: str):
        return lambda ctx, header, c: f"'{header.get(c, c)}'" + rest

    # ---- formula injection in free-text columns: neutralise and warn
    for c in spec.TEXT_COLUMNS:
        rules.append(_Rule("warning", "formula_injection", df[c].str.contains(FORMULA_RE).fill_null(False), c,
                           "type the name or number without a leading =, +, - or @",
                           None if c in spec.PERSONAL else df[c],
                           "this cell starts with a character a spreadsheet would run as a formula "
                           "(=, +, - or @); it was stored as plain text with a leading apostrophe"))
    df = df.with_columns([neutralise(pl.col(c)).alias(c) for c in spec.TEXT_COLUMNS])

    # ---- required values present
    for c in spec.REQUIRED:
        rules.append(_Rule("error", "missing_value", df[c].is_null(), c, f"fill in the {c} for this pupil",
                           message=header_msg(f" is empty; every pupil needs a value "
                                              f"({spec.COLUMN_BY_NAME[c].description})")))

    # ---- UPN
    upn = df["upn"].str.to_uppercase().str.replace_all(r"\s+", "")
    reasons = upn_reasons(upn)
    bad_check = reasons.str.starts_with("the check letter is wrong").fill_null(False)
    bad_format = reasons.is_not_null() & ~bad_check & upn.is_not_null()
    rules.append(_Rule("error", "upn_check_letter", bad_check, "upn", "copy the UPN again from your MIS: "
                       "one character is probably mistyped", df["upn"], reasons))
    rules.append(_Rule("error", "upn_format", bad_format, "upn", "a UPN is a letter followed by 11 digits and a "
                       "final digit (or letter for a temporary UPN); copy it again from your MIS", df["upn"], reasons))
    upn_ok = upn.is_not_null() & reasons.is_null()
    temp = upn_ok & upn.str.contains(r"[A-Z]$").fill_null(False)
    rules.append(_Rule("warning", "upn_temporary", temp, "upn",
                       "replace it with the pupil's permanent UPN as soon as it is known", df["upn"],
                       "this is a temporary UPN: the pupil cannot be matched to national data until it is replaced"))

    # duplicates within a file: the first row is kept, later rows excluded
    keyed = pl.DataFrame({_F: fcol, "upn": upn, "ok": upn_ok, "row": rows})
    first_row = keyed.select(pl.when(pl.col("ok")).then(pl.col("row")).min().over(_F, "upn")).to_series()
    dup = upn_ok & (first_row != rows).fill_null(False)
    rules.append(_Rule("error", "upn_duplicate", dup, "upn", "keep one row per pupil: delete the repeated row "
                       "or correct the UPN", df["upn"],
                       "this UPN is also on row " + first_row.cast(pl.Utf8).fill_null("?") + "; only that row was loaded"))

    # returned by another academy for the same year and round: the academy is told "another academy
    # of the trust", never which (no probing of other schools' pupils); the data team gets the pairs
    conflicts: dict[int, list] = {}
    many_others: dict[int, Problem] = {}
    cross_rule = None
    pairs = [(f, u, a) for f, ctx in enumerate(ctxs) for u, a in (ctx.other_academy_upns or {}).items()]
    if pairs:
        owners = pl.DataFrame({_F: [p[0] for p in pairs], "upn": [p[1] for p in pairs], "owner": [p[2] for p in pairs]},
                              schema={_F: pl.Int32, "upn": pl.Utf8, "owner": pl.Utf8})
        owner = keyed.join(owners, on=[_F, "upn"], how="left", maintain_order="left")["owner"]
        cross = upn_ok & ~dup & owner.is_not_null()
        if cross.any():
            idx = cross.arg_true()
            for f, r, u, a in zip(fcol.gather(idx).to_list(), rows.gather(idx).to_list(), upn.gather(idx).to_list(),
                                  owner.gather(idx).to_list()):
                conflicts.setdefault(f, []).append((r, u, a))
        for f, found in conflicts.items():
            ctx, n = ctxs[f], n_of[f]
            share = len(found) / n
            if share > ctx.max_other_academy_share and len(found) >= MIN_OTHER_ACADEMY_ROWS:
                many_others[f] = Problem(
                    "file", "many_other_academy_pupils",
                    f"{len(found)} of the {n} pupils in this file ({share:.0%}) have already been returned "
                    f"by other academies of the trust for {ctx.leaving_year} {ctx.round_id}, more than the "
                    f"{ctx.max_other_academy_share:.0%} the trust accepts; the file was rejected and the trust data "
                    "team has been told", "check that the file is your academy's own leavers' list (UPNs copied "
                    "from your MIS) and submit it again; the trust data team will contact you", file=items[f][2])
        cross_rule = len(rules)
        rules.append(_Rule("error", "upn_other_academy", cross & ~in_files(many_others), "upn",
                           "check the UPN; if the pupil left for another academy, remove them from this return "
                           "(the trust data team can move a pupil between academies)", df["upn"],
                           lambda ctx, header, c: "this pupil has already been returned by another academy of the "
                           f"trust for {ctx.leaving_year} {ctx.round_id}; the row was not loaded and the trust data "
                           "team will resolve it"))
    out: dict[str, pl.Series] = {"upn": upn, "upn_is_temporary": upn.str.contains(r"[A-Z]$").fill_null(False)}

    # ---- coded required columns
    for c in ("year_group", "sex", "disadvantaged", "sen_provision"):
        col = spec.COLUMN_BY_NAME[c]
        s = df[c]
        parsed, invalid = _parse_invalid(s, spec.PARSERS[col.kind], _DTYPE_FOR_KIND.get(col.kind, pl.Utf8))
        rules.append(_Rule("error", "invalid_value", invalid, c, f"change it to {spec.KIND_ALLOWED[col.kind]}", s,
                           header_msg(" must be " + spec.KIND_ALLOWED[col.kind])))
        out[c] = parsed

    # ---- destination code
    s = df["destination_code"]
    dest = _map_unique(s, spec.parse_destination, pl.Utf8)
    pre16 = s.is_not_null() & dest.is_null() & _map_unique(s, spec.is_pre16_code, pl.Boolean).fill_null(False)
    rules.append(_Rule("error", "pre16_code", pre16, "destination_code",
                       "give the pupil's post-16 destination (e.g. 210 school sixth form, 230 further education, "
                       "310 apprenticeship) or UND if undecided in an intended round", s,
                       "codes 110-150 describe pupils still in compulsory schooling and are not valid in a "
                       "leavers' return"))
    rules.append(_Rule("error", "unknown_destination_code", s.is_not_null() & dest.is_null() & ~pre16,
                       "destination_code", "use a code from the code list (e.g. 210, 230, 310, 540, 810) or its label; "
                       "the template's drop-down shows them all", s,
                       "this is not a destination code on the trust's code list"))
    actual = in_files([f for f, ctx in enumerate(ctxs) if ctx.round_kind == "actual"])
    rules.append(_Rule("error", "undecided_in_actual_round", actual & (dest == "UND").fill_null(False),
                       "destination_code", "give the pupil's actual activity, or 810 if it is not known", s,
                       lambda ctx, header, c: f"UND (undecided) is only allowed in the intended rounds; "
                       f"{ctx.round_id} records what the pupil is actually doing"))
    out["destination_code"] = dest

    # ---- optional columns: an invalid value is blanked and warned about, the row is kept
    for c in spec.OPTIONAL:
        col = spec.COLUMN_BY_NAME[c]
        s = df[c]
        if col.kind == "text":
            rules.append(_Rule("warning", "value_shortened", s.str.len_chars().fill_null(0) > TEXT_CHARS, c,
                               f"shorten it to at most {TEXT_CHARS} characters", None if c in spec.PERSONAL else s,
                               f"this value is longer than {TEXT_CHARS} characters; only the first {TEXT_CHARS} "
                               "were kept"))
            out[c] = s.str.replace(r"^(\d+)\.0+$", "${1}").str.slice(0, TEXT_CHARS)
            continue
        if col.kind == "date":
            parsed = parse_dates(s)
            invalid = s.is_not_null() & parsed.is_null()
        else:
            parsed, invalid = _parse_invalid(s, spec.PARSERS[col.kind], _DTYPE_FOR_KIND.get(col.kind, pl.Utf8))
        rules.append(_Rule("warning", "invalid_value", invalid, c,
                           f"change it to {spec.KIND_ALLOWED[col.kind]} or leave it empty", s,
                           header_msg(" must be " + spec.KIND_ALLOWED[col.kind] + "; the value was left blank "
                                      "and the rest of the row loaded")))
        out[c] = parsed
    out["source_row"] = rows.cast(pl.Int32)
    excluded = pl.Series([False] * df.height, dtype=pl.Boolean)
    for r in rules:
        if r.severity == "error":
            excluded = excluded | r.mask

    # ---- cross-round warnings
    with_intended = [f for f, ctx in enumerate(ctxs) if ctx.round_kind == "actual" and ctx.intended_upns is not None]
    if with_intended:
        known = pl.DataFrame({_F: [f for f in with_intended for _ in ctxs[f].intended_upns],
                              "upn": [u for f in with_intended for u in ctxs[f].intended_upns], "known": True},
                             schema={_F: pl.Int32, "upn": pl.Utf8, "known": pl.Boolean})
        is_known = keyed.join(known, on=[_F, "upn"], how="left", maintain_order="left")["known"].fill_null(False)
        rules.append(_Rule("warning", "not_in_intended_rounds", in_files(with_intended) & upn_ok & ~excluded & ~is_known,
                           "upn", "check the UPN; if the pupil joined late, no action is needed", df["upn"],
                           lambda ctx, header, c: f"this pupil was not in this academy's intended-destination "
                           f"returns for {ctx.leaving_year}"))

    typed = pl.DataFrame({c: out[c] for c in TYPED_COLUMNS}).cast(TYPED_SCHEMA)
    accepted = {f: frame for (f,), frame in typed.with_columns(fcol).filter(~excluded)
                .partition_by(_F, as_dict=True, include_key=False).items()}
    rejected_n = dict(pl.DataFrame({_F: fcol, "x": excluded}).group_by(_F).agg(pl.col("x").sum()).iter_rows())
    listed, totals = _listed_hits(rules, fcol, rows)
    ok_upns: dict[int, list[str]] = {}
    if any(ctx.previous_round is not None for ctx in ctxs):
        ok_upns = {f: fr["upn"].to_list() for (f,), fr in keyed.filter(pl.col("ok")).select(_F, "upn")
                   .partition_by(_F, as_dict=True, include_key=False).items()}

    results = []
    for f, (read, ctx, file) in enumerate(items):
        header = read.headers
        frame = accepted.get(f)
        if frame is None:
            frame = empty_typed_frame()
        problems = list(read.problems)
        counts = {"error": 0, "warning": 0}
        by_group: dict[tuple[str, str], int] = {}
        hidden: dict[tuple[str, str], tuple[int, str, str | None]] = {}

        def count(severity: str, rule: str, total: int, fix: str, column: str | None) -> None:
            """The single-file cap: MAX_PER_RULE listed per rule, the rest counted in one closing line."""
            counts[severity] = counts.get(severity, 0) + total
            before = by_group.get((severity, rule), 0)
            by_group[(severity, rule)] = before + total
            over = before + total - max(before, MAX_PER_RULE)
            if over > 0:   # the line keeps its first place and takes the latest call's fix and column
                k = hidden.get((severity, rule), (0,))[0]
                hidden[(severity, rule)] = (k + over, fix, column)

        for k, r in enumerate(rules):
            if k == cross_rule and f in many_others:
                problems.append(many_others[f])
            total = totals.get((f, k), 0)
            if not total:
                continue
            col = header.get(r.column, r.column)
            for row, value, msg in listed.get((f, k), ()):
                message = msg if isinstance(r.message, pl.Series) else (
                    r.message(ctx, header, r.column) if callable(r.message) else r.message)
                problems.append(Problem(r.severity, r.rule, message, r.fix, file=file, row=row, column=col,
                                        value=safe_value(value)))
            count(r.severity, r.rule, total, r.fix, col)

        changes = None
        if ctx.previous_round is not None:
            prev = ctx.previous_round
            now = dict(zip(frame["upn"].to_list(), frame["destination_code"].to_list()))
            all_now = set(ok_upns.get(f, ()))
            changes = Changes(ctx.previous_round_id)
            changes.added = sorted(u for u in now if u not in prev)
            changes.removed = sorted(u for u in prev if u not in all_now)
            changes.changed = sorted((u, prev[u], d) for u, d in now.items() if u in prev and prev[u] != d)
            vanished_fix = ("add the pupil back with their current destination (810 if not known), or tell the "
                            "trust data team why they left the cohort")
            col = header.get("upn", "upn")
            problems.extend(Problem(
                "warning", "pupil_vanished", f"this pupil was in your {ctx.previous_round_id} return but is not in "
                "this one", vanished_fix, file=file, column=col, value=u)
                for u in changes.removed[:MAX_PER_RULE])
            count("warning", "pupil_vanished", len(changes.removed), vanished_fix, col)

        for (severity, rule), (k, fix, column) in hidden.items():
            problems.append(Problem(severity, rule, f"and {k} more row(s) with this problem, not listed here to "
                                    "keep the report short", fix, file=file, column=column))
        results.append(Checked(problems, frame, n_of[f], int(rejected_n.get(f, 0)), changes, counts,
                               conflicts.get(f, [])))
    return results


def _listed_hits(rules: list[_Rule], fcol: pl.Series, rows: pl.Series):
    """Per (file, rule index): the rows listed under the cap, as (row, value, per-row message), and the
    number of rows the rule found. One frame for every rule of every file."""
    parts = []
    groups: dict[tuple[str, str], int] = {}
    for k, r in enumerate(rules):
        if not r.mask.any():
            continue
        idx = r.mask.arg_true()
        parts.append(pl.DataFrame({
            _F: fcol.gather(idx), _I: idx.cast(pl.Int64), "row": rows.gather(idx),
            "value": r.values.gather(idx) if r.values is not None else pl.Series([None] * len(idx), dtype=pl.Utf8),
            "msg": r.message.gather(idx) if isinstance(r.message, pl.Series) else pl.Series([None] * len(idx), dtype=pl.Utf8),
        }).with_columns(pl.lit(k, pl.Int32).alias("k"),
                        pl.lit(groups.setdefault((r.severity, r.rule), len(groups)), pl.Int32).alias("g")))
    if not parts:
        return {}, {}
    hits = (pl.concat(parts).sort(_F, "k", _I)
            .with_columns(pl.int_range(pl.len()).over(_F, "g").alias("rank")))
    totals = {(f, k): n for f, k, n in hits.group_by(_F, "k").len().iter_rows()}
    listed: dict[tuple[int, int], list] = {}
    for f, k, row, value, msg in hits.filter(pl.col("rank") < MAX_PER_RULE).select(
            _F, "k", "row", "value", "msg").iter_rows():
        listed.setdefault((f, k), []).append((row, value, msg))
    return listed, totals


def finish(c: Checked, ctx: ValidationContext, file: str = "") -> ValidationResult:
    """The file-level verdict of a checked file: rejected when a rule found a file problem, when it is much
    smaller than the return currently loaded (ctx.current_rows), or when too many rows have errors."""
    problems = list(c.problems)
    n = c.rows_total

    def done(frame, accepted_n, rejected_n):
        return ValidationResult(frame, _sorted(problems), n, accepted_n, rejected_n, c.changes, c.counts, c.conflicts)

    if any(p.severity == "file" for p in problems):
        return done(empty_typed_frame(), 0, n)
    accepted = c.frame
    if (ctx.current_rows and ctx.current_rows >= MIN_CURRENT_ROWS and not ctx.confirmed_smaller
            and accepted.height < ctx.min_share_of_current * ctx.current_rows):
        problems.append(Problem(
            "file", "much_smaller_than_current",
            f"this file has {accepted.height} pupil(s) to load, far fewer than the {ctx.current_rows} in the "
            f"return already loaded for {ctx.leaving_year} {ctx.round_id}; it was not allowed to replace it",
            "send the complete return (every leaver, not only changes); if the cohort really is this small, "
            "submit again with `destinations submit --confirm-smaller`", file=file,
            value=f"{accepted.height}/{ctx.current_rows}"))
        return done(empty_typed_frame(), 0, n)
    rows_rejected = c.rows_rejected
    if n and rows_rejected / n > ctx.max_invalid_row_share:
        problems.append(Problem(
            "file", "too_many_invalid_rows",
            f"{rows_rejected} of {n} pupil rows ({rows_rejected / n:.0%}) have errors, more than the "
            f"{ctx.max_invalid_row_share:.0%} the trust accepts, so the whole file was rejected",
            "correct the rows listed below and submit the file again", file=file,
            value=f"{rows_rejected}/{n}"))
        return done(empty_typed_frame(), 0, n)
    return done(accepted, accepted.height, rows_rejected)


_SEV_ORDER = {"file": 0, "error": 1, "warning": 2}
_COL_ORDER = {c.name: i for i, c in enumerate(spec.COLUMNS)}


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.severity != "file", p.row if p.row is not None else 10**9,
                                           _SEV_ORDER[p.severity]))


def today() -> date:
    return date.today()
