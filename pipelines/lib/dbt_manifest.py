"""Keep dbt's manifest in step with the models (Dagster builds its asset graph from it)."""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pipelines.config import DBT_PROJECT_DIR, WAREHOUSE_FILE

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
AUDIENCES = ("director", "academy", "academy_own")
PARSED_FOR = ".parsed_for"


def __getattr__(name: str):
    # DbtProject imports dagster-dbt: built only when the Dagster side asks for it, so
    # the dashboard and the pack can read the manifest without loading Dagster.
    if name == "dbt_project":
        from dagster_dbt import DbtProject
        proj = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
        globals()["dbt_project"] = proj
        return proj
    raise AttributeError(name)


def _newest_source_mtime(project: Path = DBT_PROJECT_DIR) -> float:
    """When the project's sources last changed: the newest modification or status-change time of
    dbt_project.yml and every file and folder under models/, seeds/, macros/, tests/. A folder's
    time moves when a model is added, deleted or renamed; a file's change time moves even when it
    is copied in with an old modification time (`cp -p`, `rsync -a`, an unzipped archive)."""
    st = (project / "dbt_project.yml").stat()
    newest = max(st.st_mtime, st.st_ctime)
    for sub in ("models", "seeds", "macros", "tests"):
        top = project / sub
        if not top.exists():
            continue
        for dirpath, _, files in os.walk(top):
            for p in [dirpath, *(os.path.join(dirpath, f) for f in files)]:
                st = os.stat(p)
                newest = max(newest, st.st_mtime, st.st_ctime)
    return newest


_FRESH = {"checked": -1e9}
FRESH_FOR = 2.0   # seconds one freshness check serves a process (a page load asks many times)


def manifest_current() -> bool:
    """The manifest exists and is newer than every file of the project (no parse needed)."""
    return MANIFEST.exists() and MANIFEST.stat().st_mtime >= _newest_source_mtime()


def ensure_manifest(force: bool = False) -> Path:
    """Run `dbt parse` when the manifest is missing or older than any model file."""
    if not force and manifest_current():
        return MANIFEST
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    with open(MANIFEST.parent / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and manifest_current():
            return MANIFEST
        # parsed in a scratch folder, then moved in file by file: a reader (the dashboard, a pack,
        # another run) never opens a manifest dbt is still writing
        scratch = Path(tempfile.mkdtemp(prefix=".parse-", dir=MANIFEST.parent))
        try:
            if (MANIFEST.parent / "partial_parse.msgpack").exists():   # start from the last parse
                shutil.copyfile(MANIFEST.parent / "partial_parse.msgpack", scratch / "partial_parse.msgpack")
            dbt = Path(sys.executable).parent / "dbt"
            # parsed with the pipeline's profile (config.dbt_env: the warehouse relative to dbt's
            # folder), whoever asks (a run, the dashboard, `make test`): every data directory's
            # build can start from this parse (transform/dbt.seed_partial_parse). A parse opens no warehouse.
            env = {**os.environ, "DO_NOT_TRACK": "1", "DESTINATIONS_WAREHOUSE_PATH": WAREHOUSE_FILE}
            proc = subprocess.run(
                # the project's own target/, whatever DBT_TARGET_PATH a run set (config.dbt_env)
                [str(dbt), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
                 "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(scratch)],
                cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"dbt parse failed:\n{proc.stdout}\n{proc.stderr}")
            # which warehouse (dbt profile) the parse was made for: a build for the same one may start from it
            (scratch / PARSED_FOR).write_text(WAREHOUSE_FILE)
            for f in sorted(p for p in scratch.iterdir() if p.is_file() and p.name != "manifest.json"):
                os.replace(f, MANIFEST.parent / f.name)
            os.replace(scratch / "manifest.json", MANIFEST)   # last: its mtime says the parse is complete
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return MANIFEST


_MARTS: dict[tuple, dict[str, dict]] = {}


def mart_nodes() -> dict[str, dict]:
    """Manifest nodes of the models materialised in the `marts` schema, by name.

    Cached per manifest version (mtime, size): the serving contract both consumers read."""
    import json
    import time
    now = time.monotonic()
    if now - _FRESH["checked"] > FRESH_FOR or not MANIFEST.exists():
        ensure_manifest()
        _FRESH["checked"] = now
    path = MANIFEST
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    hit = _MARTS.get(key)
    if hit is None:
        manifest = json.loads(path.read_text())
        hit = {n["name"]: n for n in manifest["nodes"].values()
               if n["resource_type"] == "model" and n.get("schema") == "marts"
               and n["config"].get("materialized") != "ephemeral" and n["config"].get("enabled", True)}
        _MARTS.clear()
        _MARTS[key] = hit
    return hit


def mart_models() -> list[str]:
    """Names of the dbt models materialised in the `marts` schema (published to serving)."""
    return sorted(mart_nodes())


def mart_audience(name: str) -> frozenset[str]:
    """Who besides trust admins may read the mart: `config: {meta: {audience: [...]}}`.

    director = directors/trustees read the whole mart; academy = academy users read the whole
    mart; academy_own = academy users read only rows of their own academy_urn. No audience
    means trust admins only. Raises KeyError for a name the manifest does not have."""
    node = mart_nodes()[name]
    meta = {**(node.get("meta") or {}), **(node["config"].get("meta") or {})}
    raw = meta.get("audience") or []
    if isinstance(raw, str):
        raw = [raw]
    unknown = set(raw) - set(AUDIENCES)
    if unknown:
        raise ValueError(f"model {name}: unknown audience {sorted(unknown)} (allowed: {', '.join(AUDIENCES)})")
    return frozenset(raw)


def mart_columns(name: str) -> frozenset[str]:
    """The columns the model's YAML documents (KeyError for a name the manifest lacks)."""
    return frozenset(mart_nodes()[name].get("columns") or {})


OS_CAUSES = ("No space left on device", "Disk quota exceeded", "Read-only file system", "Permission denied",
             "Out of Memory", "Cannot allocate memory", "Too many open files")


def log_size(target: Path) -> int:
    """Where dbt's log ends now: pass it to dbt_failure_cause so an old run's error is not blamed."""
    try:
        return (target / "dbt.log").stat().st_size
    except OSError:
        return 0


def _cause_line(text: str, cause: str) -> str:
    """The line naming `cause`; a JSON log line (dagster-dbt logs as JSON) gives its message."""
    import json
    import re
    for line in text.splitlines():
        if cause.lower() not in line.lower():
            continue
        if line.lstrip().startswith("{"):
            try:
                event = json.loads(line)
                line = (event.get("info") or {}).get("msg") or (event.get("data") or {}).get("base_msg") or line
            except ValueError:
                pass
        m = re.search(rf"[^\n]*{re.escape(cause)}[^\n]*", line, re.IGNORECASE)
        found = (m.group(0) if m else line).strip()
        return re.sub(r"^(DuckDB adapter: )?duckdb error: ", "", found)[:300]
    return cause


def dbt_failure_cause(target: Path, fallback: str = "", since: int = 0) -> str:
    """The real reason a dbt invocation failed, from its run results and log (first match wins):
    an operating-system error (e.g. a full disk), else the first failing node and its message.
    `since`: the log's size when the invocation started (only what it wrote is read)."""
    import json

    texts: list[str] = [fallback]
    log = target / "dbt.log"
    if log.exists():
        size = log.stat().st_size
        start = since if 0 < since <= size else 0
        with open(log, "rb") as fh:
            fh.seek(max(start, size - 400_000))
            texts.append(fh.read().decode("utf-8", "replace"))
    for text in texts:
        for cause in OS_CAUSES:
            if cause.lower() in text.lower():
                return _cause_line(text, cause)
    try:
        results = json.loads((target / "run_results.json").read_text())["results"]
        bad = [r for r in results if r.get("status") in ("error", "fail")]
        if bad:
            r = bad[0]
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            # a test that keeps its failing rows (store_failures_as) names where to read them
            rows = (f" (failing rows: select * from {r['relation_name']})"
                    if r.get("relation_name") and r["unique_id"].startswith("test.") else "")
            return f"{r['unique_id']}: {(r.get('message') or '').strip().splitlines()[0][:300]}{rows}{more}"
    except (OSError, ValueError, KeyError, IndexError):
        pass
    lines = [ln for ln in fallback.splitlines() if ln.strip()]
    return lines[0][:300] if lines else "see the dbt log"
