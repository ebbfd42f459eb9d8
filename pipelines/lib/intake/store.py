"""Where files are kept: hashes, atomic writes, quarantine (one function), the audit log.

Shared by returns, FSQ and Compass. Raw files are never modified or deleted; a rejected file is
written to quarantine by `quarantine` and nowhere else.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import pipelines.config as cfg


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).isoformat(timespec="microseconds")


def safe_name(name: str) -> str:
    base = Path(name).name or "return"
    base = re.sub(r"[^A-Za-z0-9._ -]+", "_", base).strip(" .") or "return"
    return base[-120:]


def stamped_name(original: str, sha: str, when: datetime) -> str:
    return f"{when.strftime('%Y%m%dT%H%M%S%fZ')}_{sha[:8]}_{safe_name(original)}"


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Write to a temp file and rename it over `path`: a reader sees the old or the new file, whole,
    and so does the disk after a process crash (kill -9 keeps the page cache). `durable` also fsyncs
    before the rename, so the new bytes survive a power cut: for files that are the only record of
    something (a submitted return, who sent it). Files the next load derives again need not wait."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)


def sidecar(path: Path, suffix: str) -> Path:
    """<file><suffix>; a name too long for the file system is shortened with a hash of it."""
    name = path.name
    if len((name + suffix).encode("utf-8")) > 250:
        name = name.encode("utf-8")[:150].decode("utf-8", "ignore") + "~" + hashlib.sha256(name.encode()).hexdigest()[:12]
    return path.with_name(name + suffix)


def relpath(path: Path, root: Path, resolved_root: Path | None = None) -> str:
    """`path` relative to `root`, both resolved; `resolved_root`: root.resolve() when the caller has it."""
    try:
        return path.resolve().relative_to(resolved_root or root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


class RelPaths:
    """`relpath` for the many files of a load: a path is resolved as its directory resolved (once, the same
    way, up to the root of the file system) plus its own name, one `lstat` to see it is not a symlink,
    instead of an `lstat` of every component of every path. A symlink is resolved whole, as `relpath` does."""

    def __init__(self, root: Path, resolved_root: Path | None = None):
        self.root = resolved_root or root.resolve()
        self.resolved: dict[Path, Path] = {}

    def resolve(self, path: Path) -> Path:
        got = self.resolved.get(path)
        if got is None:
            parent = path.parent
            if parent == path or not path.is_absolute() or path.name == "..":
                got = path.resolve()
            else:
                got = self.resolve(parent) / path.name
                if got.is_symlink():
                    got = got.resolve()
            self.resolved[path] = got
        return got

    def __call__(self, path: Path) -> str:
        try:
            return self.resolve(path).relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


def append_audit(p: cfg.Paths, event: dict) -> None:
    """Append one line to audit/submissions.jsonl (who, what, when, sha256, outcome)."""
    log = p.audit_log
    log.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(event, sort_keys=True, default=str)
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def append_audit_many(p: cfg.Paths, events: list[dict]) -> None:
    """`append_audit` for many events with one write and one fsync (a load of many files)."""
    if not events:
        return
    log = p.audit_log
    log.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(e, sort_keys=True, default=str) + "\n" for e in events)
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def quarantine(target: Path, *, data: bytes | None = None, move_from: Path | None = None) -> Path:
    """File a rejected file in quarantine: write `data`, or move `move_from` there (same file system,
    atomic). The one place quarantined bytes are written. Returns the target."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if move_from is not None:
        os.replace(move_from, target)
    else:
        write_atomic(target, data or b"")
    return target
