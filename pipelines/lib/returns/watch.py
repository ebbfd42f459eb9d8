"""Landing-zone watching for the sensor: content hashes, without touching the warehouse.

State (the sensor cursor) is {"files": {relative path: [size, mtime_ns, sha256]}}. A file is
re-hashed only when its size or mtime changed, so a tick over thousands of files stays cheap;
a partition is "changed" when a file was added, removed or its content hash changed.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pipelines.config as cfg
from pipelines.lib.returns import store


@dataclass
class LandingChange:
    state: dict
    changed_partitions: dict[tuple[str, str], str] = field(default_factory=dict)  # (year, round) -> digest
    unusable: list[tuple[str, str]] = field(default_factory=list)                # (path, reason)


def scan_changes(p: cfg.Paths, previous: dict | None) -> LandingChange:
    """Compare the landing zone with the previous state. previous None = first tick (record only)."""
    old_files: dict = (previous or {}).get("files", {})
    files, unusable = store.scan_landing(p.returns, cfg.round_ids())
    new_files: dict[str, list] = {}
    by_partition: dict[tuple[str, str], list] = {}
    for f in files:
        rel = f.path.relative_to(p.returns).as_posix()
        try:
            st = f.path.stat()
        except OSError:
            continue
        prev = old_files.get(rel)
        if prev and prev[0] == st.st_size and prev[1] == st.st_mtime_ns:
            sha = prev[2]
        else:
            try:
                sha = store.sha256_file(f.path)
            except OSError:
                continue
        new_files[rel] = [st.st_size, st.st_mtime_ns, sha]
        by_partition.setdefault((f.leaving_year, f.round_id), []).append((rel, sha))
    change = LandingChange(state={"files": new_files}, unusable=unusable)
    if previous is None:
        return change
    touched: set[tuple[str, str]] = set()
    for rel, rec in new_files.items():
        if rel not in old_files or old_files[rel][2] != rec[2]:
            touched.add(_partition_of(rel))
    for rel in old_files:
        if rel not in new_files:
            touched.add(_partition_of(rel))
    for key in touched:
        if key is None:
            continue
        items = sorted(by_partition.get(key, []))
        change.changed_partitions[key] = hashlib.sha256(repr(items).encode()).hexdigest()[:16]
    return change


def _partition_of(rel: str) -> tuple[str, str] | None:
    parts = rel.split("/")
    return (parts[1], parts[2]) if len(parts) == 4 else None
