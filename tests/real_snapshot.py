"""A real pipeline snapshot for the consumer tests (dashboard, pack, browser).

`destinations generate` (6 academies, 5 leaving years) + the real Dagster/dbt run, built once
and cached under test-artifacts/real_snapshot/<hash of the code that shapes it>, so the
dashboard, pack and browser tests all read the same real published marts. A file lock keeps
parallel test workers from building it twice."""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "test-artifacts" / "real_snapshot"
SHAPING = ("dbt_project/models", "dbt_project/macros", "dbt_project/seeds", "dbt_project/dbt_project.yml",
           "pipelines/lib/generate", "pipelines/lib/careers", "pipelines/lib/returns", "pipelines/defs",
           "pipelines/lib/benchmarks", "pipelines/lib/disclosure", "config")
ACADEMIES, YEARS, SEED = 6, 5, 7


def _fingerprint() -> str:
    h = hashlib.sha256(f"{ACADEMIES}/{YEARS}/{SEED}".encode())
    for rel in SHAPING:
        p = ROOT / rel
        files = sorted(p.rglob("*")) if p.is_dir() else [p]
        for f in files:
            if f.is_file() and "__pycache__" not in f.parts:
                h.update(str(f.relative_to(ROOT)).encode())
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


def real_snapshot() -> Path:
    """The data directory of a published real pipeline run (built on first use)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    target = CACHE / _fingerprint()
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".done").exists():
            return target
        for old in CACHE.iterdir():
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        from pipelines.lib.generate import generate_trust
        from pipelines.runner import run_pipeline
        generate_trust(target, academies=ACADEMIES, years=YEARS, seed=SEED)
        saved = {k: os.environ.get(k) for k in ("DESTINATIONS_DATA_DIR", "DESTINATIONS_WAREHOUSE_PATH")}
        lines: list[str] = []
        try:
            rc = run_pipeline(target, echo=lines.append)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        if rc != 0:
            raise RuntimeError("pipeline run for the test snapshot failed:\n" + "\n".join(lines[-40:]))
        (target / ".done").write_text("ok")
        return target
