"""Publish marts from the warehouse to the serving snapshot (Parquet, atomic swap)."""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import duckdb


def publish_tables(warehouse: Path, serving: Path, tables: list[str], schema: str = "marts") -> dict[str, int]:
    """Write each table to serving/<table>.parquet via a temp file and os.replace.

    Readers see either the old or the new file, never a partial one. Returns rows per table.
    """
    serving.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        present = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall()}
        for table in tables:
            if table not in present:
                continue
            final = serving / f"{table}.parquet"
            tmp = serving / f".{table}.parquet.tmp"
            con.execute(f"copy (select * from {schema}.\"{table}\") to '{tmp}' (format parquet)")
            os.replace(tmp, final)
            rows[table] = con.execute(f"select count(*) from {schema}.\"{table}\"").fetchone()[0]
    finally:
        con.close()
    manifest = {"published_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "tables": rows}
    tmp = serving / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, serving / "_manifest.json")
    return rows
