"""Privacy tests: a small generated trust with hostile extras, built once per module."""
from __future__ import annotations

import csv
import io
import os
from datetime import datetime
from pathlib import Path

import pytest

AS_OF = "2026-12-01"       # the policy below makes leaving year 2024-25 (ended Aug 2025) due
MARKER = "Zebedee"         # forenames planted in extra columns: must vanish for due pupils


def plant_extra_columns(path: Path) -> list[tuple[str, str]]:
    """Add Forename / Surname / Date of birth columns to a landed CSV. [(upn, forename)]."""
    from pipelines.lib.intake.read import decode_text
    text, enc = decode_text(path.read_bytes())
    rows = list(csv.reader(io.StringIO(text)))
    hi = next(i for i, r in enumerate(rows) if any(c.strip().lower() == "upn" for c in r))
    ucol = [c.strip().lower() for c in rows[hi]].index("upn")
    rows[hi] += ["Forename", "Surname", "Date of birth"]
    planted = []
    for i, r in enumerate(rows[hi + 1:]):
        if r and r[ucol].strip():
            name = f"{MARKER}{i:04d}q"
            r += [name, f"Surname{i:04d}q", "2008-03-14"]
            planted.append((r[ucol].strip().upper(), name))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_bytes(out.getvalue().encode(enc or "utf-8"))
    return planted


def rejected_csv(urn_upns: list[str], forename: str) -> bytes:
    """A return rejected as a whole (every UPN's check letter wrong) with a forename column."""
    lines = ["upn,year_group,sex,disadvantaged,sen_provision,destination_code,Forename,Home address"]
    for i, u in enumerate(urn_upns):
        bad = ("A" if u[0] != "A" else "B") + u[1:]
        lines.append(f"{bad},11,F,N,N,FE,{forename}{i},1 Secret Street")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def trust(tmp_path_factory):
    """Generate, plant hostile extras, run the whole pipeline once. Returns a dict of facts."""
    from pipelines.lib.generate import generate_trust
    from pipelines.lib.privacy.perms import secure_process
    from pipelines.runner import run_pipeline

    root = tmp_path_factory.mktemp("privacy") / "data"
    old_env = os.environ.get("DESTINATIONS_DATA_DIR")
    os.environ["DESTINATIONS_DATA_DIR"] = str(root)
    secure_process(root)  # as every entry point does
    generate_trust(root, academies=4, years=2, seed=7)
    returns = root / "raw" / "returns"
    old = sorted(p for p in returns.glob("*/2024-25/R3/*.csv"))[0]
    planted = plant_extra_columns(old)
    urn = old.parts[-4]
    some_upns = [u for u, _ in planted[:12]]
    recent = returns / urn / "2025-26" / "R1" / "zz_rejected_recent.csv"
    recent.write_bytes(rejected_csv(some_upns, "Quentin"))
    stale = returns / urn / "2024-25" / "R2" / "zz_rejected_stale.csv"
    stale.write_bytes(rejected_csv(some_upns, "Ophelia"))
    t = datetime(2026, 1, 5).timestamp()
    os.utime(stale, (t, t))
    lines: list[str] = []
    try:
        rc = run_pipeline(root, echo=lines.append)
        yield {"root": root, "rc": rc, "lines": lines, "planted": planted, "urn": urn,
               "old_file": old, "recent": recent.name, "stale": stale.name}
    finally:
        if old_env is None:
            os.environ.pop("DESTINATIONS_DATA_DIR", None)
        else:
            os.environ["DESTINATIONS_DATA_DIR"] = old_env
