"""What changed since the last successful `destinations run`: content hashes of every input.

Inputs are grouped by the ingest step that reads them (one group per returns leaving year x
round, one per other raw folder or config file, plus the dbt project, the checks and the
pipeline code). A file's SHA-256 is cached by (size, mtime, ctime, inode) so an unchanged landing zone is
scanned without being re-read. The state of a run is recorded only when the run succeeds:
a failed or killed run leaves the previous record, so the next run redoes its work.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pipelines.config as cfg
from pipelines.lib.walk import entries as folder_entries, subdirs, walk

STATE_FILE = "run_state.json"
CACHE_FILE = ".digest_cache.json"
STATE_VERSION = 2
REPO = cfg.DBT_PROJECT_DIR.parent

# group -> (folders or files relative to the data directory or repo, which side)
DATA_GROUPS = {
    "academies": ["raw/academies.csv"],
    "benchmarks": ["raw/benchmarks"],
    "fsq": ["raw/fsq"],
    "compass": ["raw/compass"],
}
REPO_GROUPS = {
    "rounds": ["config/trust.yaml"],
    "goals": ["config/goals.yaml"],
    "neet_risk": ["config/neet_risk.yaml"],
    "fsq_config": ["config/fsq_constructs.yaml"],
    "validation": ["config/header_aliases.yaml", "config/trust.yaml"],
    "benchmark_seed": ["pipelines/reference"],
    "dbt": ["dbt_project/dbt_project.yml", "dbt_project/models", "dbt_project/seeds",
            "dbt_project/macros", "dbt_project/tests", "expectations"],
    "code": ["pipelines"],
}
SKIP_DIRS = {"__pycache__", "target", "logs", "dbt_packages"}


@dataclass
class Inputs:
    groups: dict[str, str] = field(default_factory=dict)        # group -> digest
    partitions: dict[str, str] = field(default_factory=dict)    # "YYYY-YY/R3" -> digest
    today: str = ""

    def to_json(self) -> dict:
        return {"groups": self.groups, "partitions": self.partitions, "today": self.today}


class DigestCache:
    """SHA-256 of files, cached by (size, mtime_ns, ctime_ns, inode). The change time and inode
    matter: a correction of the same length copied in with its old mtime (cp -p, rsync -a, an
    unzipped archive) keeps size and mtime, but every write or rename-over changes one of them."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.entries: dict = json.loads(path.read_text())
        except (OSError, ValueError):
            self.entries = {}
        self.seen: dict = {}

    def digest(self, f: Path | str, st: os.stat_result | None = None) -> str:
        st = st or os.stat(f)
        key = str(f)
        hit = self.entries.get(key)
        if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns and hit[3:] == [st.st_ctime_ns, st.st_ino]:
            self.seen[key] = hit
            return hit[2]
        h = hashlib.sha256()
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        hit = [st.st_size, st.st_mtime_ns, h.hexdigest(), st.st_ctime_ns, st.st_ino]
        self.seen[key] = hit
        return hit[2]

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.seen))
        os.replace(tmp, self.path)


_CACHES: dict[str, DigestCache] = {}


def file_digest(path: Path | str, cache_dir: Path | None, st: os.stat_result | None = None) -> str:
    """SHA-256 of a file, from the digest cache in `cache_dir` (the warehouse folder, where `scan` left
    it) when the file is unchanged since it was hashed, so an ingest step does not read the file
    again only to hash it; read and hashed otherwise (or when `cache_dir` is None)."""
    if cache_dir is None:
        from pipelines.lib.intake.store import sha256_file
        return sha256_file(Path(path))
    key = str(cache_dir)
    cache = _CACHES.get(key)
    if cache is None:
        cache = _CACHES[key] = DigestCache(Path(cache_dir) / CACHE_FILE)
    return cache.digest(path, st)


def _skipped(entry: os.DirEntry) -> bool:
    return entry.name.startswith(".") or (entry.name in SKIP_DIRS and entry.is_dir())


def _files(root: str) -> list[tuple[str, os.stat_result]]:
    """(path, stat) of every file under root (or root itself), sorted, hidden and build folders left out."""
    try:
        st = os.stat(root)
    except OSError:
        return []
    if not stat.S_ISDIR(st.st_mode):
        return [(root, st)]
    return [(e.path, s) for e, s in walk(root, _skipped) if stat.S_ISREG(s.st_mode)]


def _group_digest(base: Path, entries: list[str], cache: DigestCache) -> str:
    h = hashlib.sha256()
    root = str(base)
    for e in entries:
        for f, st in _files(os.path.join(root, e)):
            h.update(f"{f[len(root) + 1:]}\0{cache.digest(f, st)}\n".encode())
    return h.hexdigest()


def _is_return_data(name: str) -> bool:
    return not name.startswith(".") and not name.endswith((".feedback.html", ".feedback.json"))


def scan(p: cfg.Paths, today: date | None = None) -> Inputs:
    """Digest every input of a run (cheap when files are unchanged: stat only)."""
    p.warehouse_dir.mkdir(parents=True, exist_ok=True)
    cache = DigestCache(p.warehouse_dir / CACHE_FILE)
    out = Inputs(today=(today or date.today()).isoformat())
    for name, entries in DATA_GROUPS.items():
        out.groups[name] = _group_digest(p.root, entries, cache)
    for name, entries in REPO_GROUPS.items():
        out.groups[name] = _group_digest(REPO, entries, cache)
    # returns: one digest per leaving year x round over the landing zone and quarantine data files
    # (os.scandir and plain strings: a national landing zone has ~60,000 files to stat)
    per: dict[str, hashlib._Hash] = {}
    root = str(p.root)
    for top in (p.returns, p.quarantine):
        for urn in subdirs(str(top)):
            for year in subdirs(urn.path):
                for rnd in subdirs(year.path):
                    h = per.setdefault(f"{year.name}/{rnd.name}", hashlib.sha256())
                    for f in folder_entries(rnd.path):
                        if _is_return_data(f.name) and f.is_file():
                            rel = f.path[len(root) + 1:]
                            h.update(f"{rel}\0{cache.digest(f.path, f.stat())}\n".encode())
    out.partitions = {k: h.hexdigest() for k, h in sorted(per.items())}
    out.groups["reuploads"] = _reupload_digest(p.audit_log)
    cache.save()
    return out


def _reupload_digest(audit: Path) -> str:
    """Digest of the audit log's identical re-upload events (the only audit lines a load reads;
    the pipeline itself never writes them, so its own audit lines do not count as a change)."""
    h = hashlib.sha256()
    if audit.exists():
        with open(audit, "rb") as fh:
            for line in fh:
                if b'"unchanged"' in line:
                    h.update(line)
    return h.hexdigest()


def load(p: cfg.Paths) -> dict:
    """The record of the last successful run ({} when none, or from an older layout)."""
    try:
        state = json.loads((p.warehouse_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return state if state.get("version") == STATE_VERSION else {}


def save(p: cfg.Paths, inputs: Inputs, **extra) -> None:
    state = {"version": STATE_VERSION, "inputs": inputs.to_json(), **extra}
    path = p.warehouse_dir / STATE_FILE
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    os.replace(tmp, path)


def warehouse_stat(p: cfg.Paths) -> list | None:
    """(size, mtime_ns) of the warehouse file; None when absent or a write-ahead log is pending."""
    try:
        st = os.stat(p.warehouse)
    except OSError:
        return None
    if os.path.exists(str(p.warehouse) + ".wal"):
        return None
    return [st.st_size, st.st_mtime_ns]


def warehouse_as_recorded(p: cfg.Paths, state: dict) -> bool:
    """The warehouse file is byte-for-byte where the last successful run or check left it (same
    size and modification time, no pending log), so it need not be opened to know it is sound.
    A damaged, truncated or replaced file has a new size or time and is opened and checked."""
    now = warehouse_stat(p)
    return now is not None and state.get("warehouse") == now


def record_warehouse(p: cfg.Paths, state: dict) -> None:
    """After the warehouse was checked and found sound, remember its size and time."""
    now = warehouse_stat(p)
    if state and now is not None and state.get("warehouse") != now:
        path = p.warehouse_dir / STATE_FILE
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**state, "warehouse": now}, indent=1, sort_keys=True))
        os.replace(tmp, path)


def forget(p: cfg.Paths) -> None:
    (p.warehouse_dir / STATE_FILE).unlink(missing_ok=True)


@dataclass
class Changes:
    full: bool = False                                   # rebuild everything
    reason: str = ""
    groups: set[str] = field(default_factory=set)        # changed input groups
    partitions: set[str] = field(default_factory=set)    # "YYYY-YY/R3" whose files changed
    new_day: bool = False

    @property
    def nothing(self) -> bool:
        return not (self.full or self.groups or self.partitions or self.new_day)


def diff(previous: dict, now: Inputs) -> Changes:
    """What changed between the last successful run and now."""
    before = previous.get("inputs")
    if not before:
        return Changes(full=True, reason="no earlier successful run recorded")
    ch = Changes()
    bg = before.get("groups", {})
    ch.groups = {g for g, d in now.groups.items() if bg.get(g) != d}
    for g, why in (("code", "the pipeline code changed"), ("dbt", "the dbt project or checks changed"),
                   ("validation", "return validation settings changed")):
        if g in ch.groups:
            ch.full, ch.reason = True, why
            return ch
    bp = before.get("partitions", {})
    ch.partitions = {k for k in set(bp) | set(now.partitions) if bp.get(k) != now.partitions.get(k)}
    if "academies" in ch.groups or "reuploads" in ch.groups:
        ch.partitions |= set(now.partitions)   # validation reads the register; re-upload records
    ch.new_day = before.get("today") != now.today
    return ch


def serving_ready(p: cfg.Paths) -> bool:
    """A serving snapshot is published: the link and its manifest."""
    return p.serving.is_symlink() and (p.serving / "_manifest.json").exists()


PENDING_FILE = "run_pending.json"


def load_pending(p: cfg.Paths) -> set[str]:
    """Assets whose rebuild a failed or killed run left undone."""
    try:
        return set(json.loads((p.warehouse_dir / PENDING_FILE).read_text()).get("assets", []))
    except (OSError, ValueError):
        return set()


def save_pending(p: cfg.Paths, assets: set[str]) -> None:
    """Record (before any work starts) what this run must rebuild, so a crash cannot lose it."""
    path = p.warehouse_dir / PENDING_FILE
    if not assets:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"assets": sorted(assets)}))
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
