"""Helpers for the returns tests: a data directory with a register, loading partitions, reading rows."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import duckdb

import pipelines.config as cfg

CORPUS_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "bad_returns" / "bad_returns_corpus.py"


def corpus():
    if "bad_returns_corpus" in sys.modules:
        return sys.modules["bad_returns_corpus"]
    spec = importlib.util.spec_from_file_location("bad_returns_corpus", CORPUS_PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bad_returns_corpus"] = mod
    spec.loader.exec_module(mod)
    return mod


def make_data_dir(root: Path) -> cfg.Paths:
    p = cfg.paths(root)
    p.raw.mkdir(parents=True, exist_ok=True)
    p.academies_csv.write_text(corpus().register_csv(), encoding="utf-8")
    p.warehouse_dir.mkdir(parents=True, exist_ok=True)
    return p


def load(p: cfg.Paths, year: str, round_id: str):
    from pipelines.lib.returns.ingest import load_partition

    con = duckdb.connect(str(p.warehouse))
    try:
        return load_partition(p, con, year, round_id)
    finally:
        con.close()


def rows(p: cfg.Paths, where: str = "true", params: list | None = None) -> list[tuple]:
    if not p.warehouse.exists():
        return []
    con = duckdb.connect(str(p.warehouse), read_only=True)
    try:
        tables = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema='raw'").fetchall()}
        if "destination_returns" not in tables:
            return []
        return con.execute(f"select * from raw.destination_returns where {where} order by all",
                           params or []).fetchall()
    finally:
        con.close()


def query(p: cfg.Paths, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(p.warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def last_audit(p: cfg.Paths) -> dict:
    return json.loads(p.audit_log.read_text(encoding="utf-8").strip().splitlines()[-1])


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
