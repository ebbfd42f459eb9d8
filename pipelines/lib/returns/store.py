"""The landing layout for returns, feedback sidecars and the audit log.

raw/returns/<URN>/<YYYY-YY>/<round>/<file>               accepted (and directly landed) files
raw/returns/<URN>/<YYYY-YY>/<round>/<file>.feedback.html  feedback report for that file
raw/returns/<URN>/<YYYY-YY>/<round>/<file>.feedback.json  outcome + problems (machine-readable)
quarantine/<URN>/<YYYY-YY>/<round>/<file>(.feedback.*)    rejected files with their feedback
audit/submissions.jsonl                                   one JSON line per submission event

Raw files are never modified or deleted, except by the retention policy
(pipelines.lib.privacy.retention: pseudonymised in place, the submission's hash kept in
a hidden `.<file>.retention.json` note); files only move from the landing zone
to quarantine when the pipeline rejects a file that arrived there directly.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pipelines.config as cfg
from pipelines.lib.intake.store import (RelPaths, append_audit, append_audit_many, iso, quarantine, relpath,  # noqa: F401
                                        safe_name,
                                        sha256_bytes, sha256_file, sidecar, stamped_name, utc_now,
                                        write_atomic)

FEEDBACK_HTML = ".feedback.html"
FEEDBACK_JSON = ".feedback.json"
SIDECAR_SUFFIXES = (FEEDBACK_HTML, FEEDBACK_JSON)
URN_RE = re.compile(r"^\d{6}$")


def is_data_file(path: Path) -> bool:
    """A submitted return, not one of our sidecars, a temp file or a hidden file."""
    name = path.name
    return (path.is_file() and not name.startswith((".", "~$"))
            and not name.endswith(SIDECAR_SUFFIXES) and not name.endswith(".tmp"))


def partition_dir(root: Path, urn: str, leaving_year: str, round_id: str) -> Path:
    return root / urn / leaving_year / round_id


def read_sidecar(path: Path) -> dict | None:
    p = sidecar(path, FEEDBACK_JSON)
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


RETENTION_NOTE = ".retention.json"


def retention_note(path: Path) -> Path:
    """Hidden note next to a file that retention rewrote (pseudonymised or stripped)."""
    return path.with_name(f".{path.name}{RETENTION_NOTE}")


def submitted_sha(path: Path, actual: str | None = None) -> str:
    """SHA-256 of the file as submitted: a file retention rewrote keeps its submission's identity
    (the note records both hashes); any other change makes it a new file. `actual`: the file's
    SHA-256 when already known (from a digest cache)."""
    actual = actual or sha256_file(path)
    note = retention_note(path)
    if note.exists():
        try:
            n = json.loads(note.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return actual
        if n.get("stored_sha256") == actual and n.get("submitted_sha256"):
            return str(n["submitted_sha256"])
    return actual


@dataclass(frozen=True)
class LandedFile:
    path: Path
    academy_urn: str
    leaving_year: str
    round_id: str


def parse_landing_path(rel_parts: tuple[str, ...], rounds: list[str]) -> tuple[str, str, str] | str:
    """(urn, year, round) from the parts under raw/returns/, or a plain-English reason it is unusable."""
    if len(rel_parts) != 4:
        return ("a return must be filed as raw/returns/<URN>/<YYYY-YY>/<round>/<file>; "
                f"this path has {len(rel_parts)} levels")
    urn, year, rnd, _ = rel_parts
    if not URN_RE.match(urn):
        return f"'{urn}' is not a 6-digit URN"
    refused = cfg.leaving_year_problem(year)
    if refused:
        return refused
    if rnd not in rounds:
        return f"'{rnd}' is not a configured round ({', '.join(rounds)})"
    return urn, year, rnd


def scan_landing(root: Path, rounds: list[str]) -> tuple[list[LandedFile], list[tuple[str, str]]]:
    """All data files under raw/returns (or quarantine); plus (path, reason) for unusable paths."""
    good: list[LandedFile] = []
    bad: list[tuple[str, str]] = []
    if not root.exists():
        return good, bad
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for fn in filenames:
            path = Path(dirpath) / fn
            if not is_data_file(path):
                continue
            parts = path.relative_to(root).parts
            parsed = parse_landing_path(parts, rounds)
            if isinstance(parsed, str):
                bad.append((path.relative_to(root).as_posix(), parsed))
            else:
                good.append(LandedFile(path, *parsed))
    good.sort(key=lambda f: f.path.as_posix())
    bad.sort()
    return good, bad


def partition_files(root: Path, leaving_year: str, round_id: str) -> list[LandedFile]:
    """Data files of one leaving year x round under root (raw/returns or quarantine)."""
    out = []
    if not root.exists():
        return out
    for urn_dir in sorted(root.iterdir()):
        if not urn_dir.is_dir() or not URN_RE.match(urn_dir.name):
            continue
        d = urn_dir / leaving_year / round_id
        if d.is_dir():
            for f in sorted(d.iterdir()):
                if is_data_file(f):
                    out.append(LandedFile(f, urn_dir.name, leaving_year, round_id))
    return out
