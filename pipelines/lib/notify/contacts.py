"""Academy contacts from the register: the optional `careers_leader_email` column."""
from __future__ import annotations

import re
from pathlib import Path

import polars as pl

EMAIL_RE = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


def academy_contacts(register_csv: Path) -> dict[str, dict]:
    """urn -> {"name", "email"} (email None when the column is absent, empty or not an address).

    Tolerant: a register without the column still gives every academy (no email)."""
    if not register_csv.exists():
        return {}
    df = pl.read_csv(register_csv, infer_schema=False, encoding="utf8-lossy")
    df = df.rename({c: c.strip().lower().replace(" ", "_") for c in df.columns})
    out: dict[str, dict] = {}
    for rec in df.iter_rows(named=True):
        urn = (rec.get("urn") or "").strip()
        if not urn:
            continue
        email = (rec.get("careers_leader_email") or "").strip()
        out[urn] = {"name": (rec.get("name") or "").strip() or f"Academy {urn}",
                    "email": email if EMAIL_RE.match(email) else None,
                    "bad_email": email if email and not EMAIL_RE.match(email) else None}
    return out
