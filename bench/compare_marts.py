"""Compare every table of two warehouses, EXCEPT ALL both ways (marts identical before/after).

    .venv/bin/python bench/compare_marts.py BEFORE.duckdb AFTER.duckdb [--schemas marts,intermediate]

Doubles are rounded to 9 dp (DuckDB's parallel sums differ in the last bit). Prints one line per
table: rows before/after, rows only in before, rows only in after, and columns missing on a side.
Exit 1 when any table differs.
"""
from __future__ import annotations

import argparse
import sys

import duckdb


def _tables(con, alias: str, schemas: list[str]) -> dict[str, list[tuple[str, str]]]:
    rows = con.execute(
        "select c.table_schema, c.table_name, c.column_name, c.data_type from information_schema.columns c "
        "join information_schema.tables t using (table_catalog, table_schema, table_name) "
        "where c.table_catalog = ? and t.table_type = 'BASE TABLE' "
        "order by c.table_schema, c.table_name, c.ordinal_position", [alias]).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for schema, table, col, typ in rows:
        if any(schema.endswith(s) for s in schemas):
            out.setdefault(f"{schema}.{table}", []).append((col, typ))
    return out


def _expr(col: str, typ: str) -> str:
    q = '"' + col.replace('"', '""') + '"'
    if typ in ("DOUBLE", "FLOAT", "REAL") or typ.startswith("DECIMAL"):
        return f"round({q}::double, 9) as {q}"
    return q


def compare(before: str, after: str, schemas: list[str]) -> int:
    con = duckdb.connect()
    con.execute(f"attach '{before}' as b (read_only)")
    con.execute(f"attach '{after}' as a (read_only)")
    tb, ta = _tables(con, "b", schemas), _tables(con, "a", schemas)
    bad = 0
    for name in sorted(set(tb) | set(ta)):
        if name not in tb or name not in ta:
            print(f"{name:<62s} only in {'after' if name in ta else 'before'}")
            bad += 1
            continue
        cb, ca = dict(tb[name]), dict(ta[name])
        common = [c for c, _ in tb[name] if c in ca]
        missing = sorted(set(cb) ^ set(ca))
        typediff = [c for c in common if cb[c] != ca[c]]
        cols = ", ".join(_expr(c, cb[c]) for c in common)
        n_b = con.execute(f"select count(*) from b.{name}").fetchone()[0]
        n_a = con.execute(f"select count(*) from a.{name}").fetchone()[0]
        only_b = con.execute(f"select count(*) from (select {cols} from b.{name} except all select {cols} from a.{name})").fetchone()[0]
        only_a = con.execute(f"select count(*) from (select {cols} from a.{name} except all select {cols} from b.{name})").fetchone()[0]
        ok = only_a == only_b == 0 and not missing and not typediff
        bad += not ok
        extra = (f"  columns differ: {missing}" if missing else "") + (f"  types differ: {typediff}" if typediff else "")
        print(f"{name:<62s} {n_b:>9,} {n_a:>9,}  -{only_b:<6} +{only_a:<6} {'same' if ok else 'DIFFERENT'}{extra}")
    print(f"{len(set(tb) | set(ta))} tables, {bad} different")
    return 1 if bad else 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--schemas", default="marts")
    a = ap.parse_args()
    sys.exit(compare(a.before, a.after, a.schemas.split(",")))
