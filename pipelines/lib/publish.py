"""Publish marts from the warehouse to the serving snapshot, which switches as a whole.

Layout (inside the warehouse folder):

    serving -> serving.<version>/        a symlink, swapped atomically (new link + os.replace)
    serving.<version>/<mart>.parquet     every mart of that version
    serving.<version>/_manifest.json     version, rows and a content hash per mart

Readers keep using `warehouse/serving/<mart>.parquet`; a reader that reads several files
should resolve the link once (`resolve_snapshot`) and read everything from that folder, so a
publish in the middle never mixes two versions. A publish writes a hidden `.serving.*.partial`
folder, renames it to `serving.<version>` and only then moves the link: a killed publish
leaves the old snapshot in place and a partial folder that the next publish removes.
Unchanged marts (same content hash) are hard links to the previous version's files, and a
publish where nothing changed writes nothing. Old versions are removed after a grace period.

The content hash of a mart is the one its dbt build recorded on the table (its comment, written in
the model's transaction: dbt_project/macros/content_hash.sql, the only place it is computed), so the
switch never scans a mart to hash it. A mart without one (built by hand, or before the hook), or
whose row count or columns differ from what it records, is taken as changed: written again, under
a hash of its own for this version (`rows:unrecorded:version`), which no later publish matches.
A changed mart is never taken for an unchanged one: every build of a mart records the hash of the
rows it committed.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from pipelines.lib.cores import processes

MANIFEST = "_manifest.json"
KEEP_VERSIONS = 2          # the current one and the one before it, always
GRACE_SECONDS = 600        # older versions live this long after being replaced (slow readers)


@dataclass
class Snapshot:
    version: str
    path: Path                                  # the real folder of this version
    rows: dict[str, int] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)
    new_version: bool = False                   # False: nothing changed, the old version stays


def resolve_snapshot(serving: Path) -> Path:
    """The real folder of the current serving version (read every file of one view from it)."""
    return Path(os.path.realpath(serving))


def read_manifest(serving: Path) -> dict:
    try:
        return json.loads((resolve_snapshot(serving) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


HASH_COMMENT = "td-content-hash "   # marks the content hash a build records (macros/content_hash.sql: _td_hash_prefix)


def _columns(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, str]:
    """table -> its columns and types, `name:TYPE,...` in order (one query: each table's own
    query of information_schema costs ~50 ms)."""
    return dict(con.execute(
        "select table_name, string_agg(column_name || ':' || data_type, ',' order by ordinal_position) "
        "from information_schema.columns where table_schema = ? group by table_name", [schema]).fetchall())


def recorded_hashes(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, str]:
    """table -> the content hash its build recorded (tables without one are left out)."""
    rows = con.execute("select table_name, comment from duckdb_tables() where schema_name = ? "
                       "and database_name = current_database()", [schema]).fetchall()
    return {t: c[len(HASH_COMMENT):] for t, c in rows if c and c.startswith(HASH_COMMENT)}


def _known_hash(con: duckdb.DuckDBPyConnection, schema: str, table: str, recorded: str | None,
                columns: str | None) -> str | None:
    """The recorded hash when the table still has the rows and columns it records, else None."""
    if not recorded:
        return None
    n, _, cols = recorded.split(":", 2)
    if cols != columns:
        return None
    return recorded if n == str(con.execute(f'select count(*) from {schema}."{table}"').fetchone()[0]) else None


def _new_version() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + f"-{time.time_ns() % 1_000_000_000:09d}"


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _swap_link(serving: Path, target_name: str) -> None:
    """Point `serving` at `target_name` (a sibling folder) in one rename."""
    parent = serving.parent
    if serving.exists() and not serving.is_symlink():
        # a pre-versioning serving folder: keep it as a version of its own, then link
        os.rename(serving, parent / f"serving.legacy-{_new_version()}")
    tmp = parent / f".serving.link.{os.getpid()}.{time.time_ns()}"
    os.symlink(target_name, tmp)
    os.replace(tmp, serving)


def collect_garbage(serving: Path, keep: int = KEEP_VERSIONS, grace_seconds: float = GRACE_SECONDS) -> list[Path]:
    """Remove partial folders of killed publishes and versions past their grace period.

    Call only while holding the run lock (no publish in progress)."""
    parent = serving.parent
    removed: list[Path] = []
    current = resolve_snapshot(serving).name if serving.is_symlink() else None
    for p in parent.glob(".serving.*"):
        if p.is_symlink() or p.is_file():
            p.unlink(missing_ok=True)
        else:
            shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    versions = sorted((p for p in parent.glob("serving.*") if p.is_dir() and not p.is_symlink()),
                      key=lambda p: p.stat().st_mtime, reverse=True)
    now = time.time()
    for i, p in enumerate(versions):
        if p.name == current or i < keep:
            continue
        if now - p.stat().st_mtime > grace_seconds:
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def publish_snapshot(warehouse: Path, serving: Path, tables: list[str], schema: str = "marts",
                     con: duckdb.DuckDBPyConnection | None = None) -> Snapshot:
    """Publish `tables` as a new serving version (only if any changed); returns what was done."""
    parent = serving.parent
    parent.mkdir(parents=True, exist_ok=True)
    current = resolve_snapshot(serving) if serving.exists() else None
    prev = read_manifest(serving) if current else {}
    prev_hashes: dict[str, str] = prev.get("hashes") or {}
    own = con is None
    con = con or duckdb.connect(str(warehouse), read_only=True)
    version = _new_version()
    work = parent / f".serving.{version}.partial"
    work.mkdir()
    snap = Snapshot(version=version, path=parent / f"serving.{version}")
    hashes: dict[str, str] = {}
    recorded: dict[str, str] = {}
    columns: dict[str, str] = {}

    def publish_one(table: str) -> tuple[str, bool]:
        """Take `table`'s hash from its build; link the previous version's file when unchanged, else
        write it (a mart without a hash it still matches: always). On its own cursor."""
        cur = con.cursor()
        try:
            digest = _known_hash(cur, schema, table, recorded.get(table), columns.get(table))
            old = current / f"{table}.parquet" if current else None
            if digest is not None and old is not None and prev_hashes.get(table) == digest and old.exists():
                _link_or_copy(old, work / old.name)
                return digest, False
            n = cur.execute(f"copy (select * from {schema}.\"{table}\") to '{work / (table + '.parquet')}' "
                            "(format parquet)").fetchone()[0]
            return digest or f"{n}:unrecorded:{version}", True
        finally:
            cur.close()

    try:
        present = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall()}
        todo = [t for t in tables if t in present]
        recorded.update(recorded_hashes(con, schema))
        columns.update(_columns(con, schema))
        # marts are mostly small (one Parquet row group, written by one thread): several at once
        with ThreadPoolExecutor(max_workers=max(1, min(len(todo), processes("DESTINATIONS_PUBLISH_WORKERS")))) as pool:
            done = list(pool.map(publish_one, todo))
        for table, (digest, changed) in zip(todo, done):
            hashes[table] = digest
            snap.rows[table] = int(digest.split(":", 1)[0])
            if changed:
                snap.changed.append(table)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        if own:
            con.close()
    same_set = set(hashes) == set(prev_hashes)
    if current is not None and serving.is_symlink() and not snap.changed and same_set:
        shutil.rmtree(work, ignore_errors=True)
        snap.version, snap.path = prev.get("version", current.name), current
        return snap
    manifest = {"published_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "version": version, "tables": snap.rows, "hashes": hashes, "changed": snap.changed}
    (work / MANIFEST).write_text(json.dumps(manifest, indent=2))
    os.rename(work, snap.path)
    _swap_link(serving, snap.path.name)
    snap.new_version = True
    return snap


def publish_tables(warehouse: Path, serving: Path, tables: list[str], schema: str = "marts") -> dict[str, int]:
    """Publish and return rows per published table (see `publish_snapshot`)."""
    return publish_snapshot(warehouse, serving, tables, schema).rows
