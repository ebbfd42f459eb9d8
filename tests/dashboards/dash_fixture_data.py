"""The dashboard tests' data: a copy of the real pipeline snapshot (tests/real_snapshot.py)
plus users for every role. U1 is "alder" (one academy), U2 and U3 are "multi" (two)."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboards" / "streamlit_app.py")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.real_snapshot import real_snapshot  # noqa: E402

_REG = pd.read_csv(real_snapshot() / "raw" / "academies.csv", dtype=str)
U1, U2, U3 = (_REG["urn"].iloc[i] for i in range(3))
N1, N2, N3 = (_REG["name"].iloc[i] for i in range(3))
LA1 = int(_REG["la_code"].iloc[0])


def build(d: Path) -> Path:
    """Copy the real published snapshot into d (tests may write into their copy)."""
    shutil.copytree(real_snapshot(), d, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".done"))
    return d


def make_users(d: Path) -> dict[str, str]:
    from dashboards.lib import users
    path = d / "auth" / "users.json"
    creds = {"admin": "admin-pass-123", "director": "director-pass-123",
             "alder": "alder-pass-123", "multi": "multi-pass-123"}
    users.add_user("admin", "trust_admin", password=creds["admin"], path=path, replace=True)
    users.add_user("director", "director", password=creds["director"], path=path, replace=True)
    users.add_user("alder", "academy", [U1], password=creds["alder"], path=path, replace=True,
                   email="head@alder.example.org")
    users.add_user("multi", "academy", [U2, U3], password=creds["multi"], path=path, replace=True)
    return creds


def return_csv(n: int = 20, *, estab: int = 4001, la: int = LA1, bad: bool = False) -> bytes:
    """A destination return: valid (n pupils, valid UPNs) or, with bad=True, lacking the
    required destination_code column (rejected as a whole)."""
    from pipelines.lib.upn import make_upn
    cols = ["upn", "year_group", "sex", "disadvantaged", "sen_provision", "destination_code"]
    if bad:
        cols = cols[:-1]
    lines = [",".join(cols)]
    codes = ["230", "220", "310", "210", "230", "320"]
    for i in range(n):
        row = [make_upn(la, estab, 9, i + 1), "11", "MF"[i % 2], "YN"[i % 3 != 0],
               "N" if i % 4 else "K", codes[i % len(codes)]]
        lines.append(",".join(row[: len(cols)]))
    return ("\n".join(lines) + "\n").encode("utf-8")


