"""The academy register (raw/academies.csv): read and check it."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl

REQUIRED = ["urn", "name", "la_code", "phase", "has_sixth_form", "joined_trust"]
PHASES = {"secondary", "all-through", "special", "alternative provision", "16-19"}


class RegisterError(ValueError):
    """The register cannot be used; the message says what to fix."""


def read_register(path: Path) -> pl.DataFrame:
    if not path.exists():
        raise RegisterError(
            f"The academy register {path} is missing. Create it with the columns "
            f"{', '.join(REQUIRED)} (one row per academy).")
    try:
        df = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except Exception as exc:  # unreadable CSV
        raise RegisterError(f"The academy register {path} could not be read as CSV: {exc}") from exc
    df = df.rename({c: c.strip().lower().replace(" ", "_") for c in df.columns})
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise RegisterError(f"The academy register {path} lacks the column(s) {', '.join(missing)}.")
    problems: list[str] = []
    rows = []
    for i, rec in enumerate(df.iter_rows(named=True), start=2):
        urn = (rec["urn"] or "").strip()
        la = (rec["la_code"] or "").strip()
        phase = (rec["phase"] or "").strip().lower()
        sixth = (rec["has_sixth_form"] or "").strip().upper()
        joined = (rec["joined_trust"] or "").strip()
        if not re.fullmatch(r"\d{6}", urn):
            problems.append(f"row {i}: urn {urn!r} is not 6 digits")
        if not re.fullmatch(r"\d{3}", la):
            problems.append(f"row {i}: la_code {la!r} is not a 3-digit LA number (e.g. 352)")
        if phase not in PHASES:
            problems.append(f"row {i}: phase {phase!r} is not one of {sorted(PHASES)}")
        if sixth not in {"Y", "N"}:
            problems.append(f"row {i}: has_sixth_form {sixth!r} must be Y or N")
        try:
            joined_d = date.fromisoformat(joined)
        except ValueError:
            problems.append(f"row {i}: joined_trust {joined!r} is not an ISO date (YYYY-MM-DD)")
            joined_d = None
        rows.append({"urn": urn, "name": (rec["name"] or "").strip(), "la_code": la, "phase": phase,
                     "has_sixth_form": sixth == "Y", "joined_trust": joined_d})
    dupes = df["urn"].is_duplicated()
    if dupes.any():
        problems.append(f"URN(s) listed twice: {sorted(set(df.filter(dupes)['urn'].to_list()))}")
    if problems:
        raise RegisterError(f"The academy register {path} has problems:\n  " + "\n  ".join(problems))
    return pl.DataFrame(rows, schema={"urn": pl.Utf8, "name": pl.Utf8, "la_code": pl.Utf8,
                                      "phase": pl.Utf8, "has_sixth_form": pl.Boolean,
                                      "joined_trust": pl.Date})
