"""The audit trail: an append-only, hash-chained JSON-lines file, <data dir>/audit/access.jsonl.

One line per event: sign-ins (success, failure, lockout), sign-outs and expired sessions,
pupil-level page views, downloads, user and role changes, retention runs, subject access and
erasure. Submissions stay in audit/submissions.jsonl (written by the intake); `read_all` merges
both for the dashboard's Audit page.

Each line carries `prev`, the SHA-256 of the line before it (the first line: 64 zeros), so a
line edited or deleted after the fact breaks the chain and `verify` names where. Appends take an
exclusive lock, so dashboard threads and CLI processes never interleave. The file is 0600.
Never put a UPN or a password in an event: name the page, mart, user and counts instead.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

GENESIS = "0" * 64
FILE_NAME = "access.jsonl"


def audit_file(data_dir: Path | None = None) -> Path:
    from pipelines.config import paths
    return paths(data_dir).root / "audit" / FILE_NAME


def _last_line(fh) -> bytes | None:
    fh.seek(0, os.SEEK_END)
    end = fh.tell()
    if end == 0:
        return None
    size = min(end, 65536)
    while True:
        fh.seek(end - size)
        chunk = fh.read(size)
        body = chunk.rstrip(b"\n")
        i = body.rfind(b"\n")
        if i >= 0 or size == end:
            return body[i + 1:] if i >= 0 else body
        size = min(end, size * 4)


def line_hash(line: bytes | str) -> str:
    if isinstance(line, str):
        line = line.encode("utf-8")
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def record(event: str, *, user: str | None = None, outcome: str | None = None,
           data_dir: Path | None = None, **details) -> dict:
    """Append one event. Never raises into the caller's page: an audit failure is printed."""
    path = audit_file(data_dir)
    entry = {"at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "event": event,
             "user": user, "outcome": outcome,
             **{k: v for k, v in details.items() if v is not None}}
    old = os.umask(0o077)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "rb+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                last = _last_line(fh)
                entry["prev"] = line_hash(last) if last else GENESIS
                line = json.dumps(entry, sort_keys=True, default=str, ensure_ascii=False)
                fh.seek(0, os.SEEK_END)
                fh.write(line.encode("utf-8") + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
    except OSError as exc:  # the caller's action still happens; say so loudly
        print(f"audit: could not write {path}: {exc}")
    finally:
        os.umask(old)
    return entry


def read(data_dir: Path | None = None, path: Path | None = None) -> list[dict]:
    path = path or audit_file(data_dir)
    if not path.exists():
        return []
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError:
                    out.append({"event": "unreadable_line", "raw": line[:200]})
    return out


def verify(data_dir: Path | None = None, path: Path | None = None) -> list[str]:
    """Problems with the hash chain (empty list: intact)."""
    path = path or audit_file(data_dir)
    if not path.exists():
        return []
    problems, prev = [], GENESIS
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, start=1):
            line = raw.rstrip(b"\n")
            if not line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                problems.append(f"line {n}: not JSON")
                prev = line_hash(line)
                continue
            if entry.get("prev") != prev:
                problems.append(f"line {n}: chain broken (a line before it was changed or removed)")
            prev = line_hash(line)
    return problems


def read_all(data_dir: Path | None = None) -> list[dict]:
    """Access events and submissions (audit/submissions.jsonl), newest first, one shape."""
    from pipelines.config import paths
    rows = [{**e, "source": "access"} for e in read(data_dir)]
    for e in read(path=paths(data_dir).audit_log):
        rows.append({"at": e.get("at"), "event": e.get("event", "submit"), "user": e.get("by"),
                     "outcome": e.get("status"), "academy_urn": e.get("academy_urn"),
                     "leaving_year": e.get("leaving_year"), "round": e.get("round"),
                     "detail": e.get("original_name"), "source": "submissions"})
    rows.sort(key=lambda r: str(r.get("at") or ""), reverse=True)
    return rows
