"""Subject access and erasure for one pupil (by UPN), across files and warehouse tables."""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import pipelines.config as cfg
from pipelines.lib.privacy import retention as R
from pipelines.lib.returns import spec, store
from pipelines.lib.upn import upn_problem

ERASED = "[erased]"


def _check(upn: str) -> str:
    u = R.norm_upn(upn)
    if not u or (upn_problem(u) is not None and not R.is_pseudonym(u)):
        raise ValueError(f"{upn!r} is not a UPN ({upn_problem(u)}); give the pupil's 13-character UPN")
    return u


def _data_files(p: cfg.Paths) -> list[Path]:
    out = []
    for root in (p.returns, p.quarantine, p.fsq):
        if root.is_dir():
            out += [f for f in sorted(root.rglob("*")) if f.is_file() and not f.name.startswith(".")
                    and ".feedback." not in f.name and f.stat().st_size > 0]
    return out


def _header_index(rows: list[list]) -> int | None:
    upn_keys, _ = R._fsq_keys()
    for i, row in enumerate(rows[:30]):
        if any(c is not None and spec.norm_header(str(c)) in upn_keys for c in row):
            return i
    return None


def _matches(grid: R._Grid, targets: set[str]) -> list[tuple[str | None, int, dict]]:
    out = []
    for name, rows in grid.sheets():
        hi = _header_index(rows)
        header = [str(c) if c is not None else f"column {j + 1}" for j, c in enumerate(rows[hi])] \
            if hi is not None else []
        for i, row in enumerate(rows):
            if hi is not None and i <= hi:
                continue
            if any(isinstance(c, str) and R.norm_upn(c) in targets for c in row):
                rec = {(header[j] if j < len(header) else f"column {j + 1}"): c
                       for j, c in enumerate(row) if c not in (None, "")}
                out.append((name, i, rec))
    return out


def _files_holding(p: cfg.Paths, targets: set[str]) -> Iterator[tuple[Path, R._Grid, list]]:
    """(file, its grid, the pupil's rows) for every data file that holds the pupil; unreadable files skipped."""
    for f in _data_files(p):
        try:
            grid = R._Grid(f)
        except Exception:  # noqa: BLE001
            continue
        hits = _matches(grid, targets)
        if hits:
            yield f, grid, hits


def _targets(p: cfg.Paths, u: str) -> tuple[set[str], str | None]:
    key = R.load_key(p, create=False)
    pseudo = R.pseudonym(u, key) if key and not R.is_pseudonym(u) else None
    return {u} | ({pseudo} if pseudo else set()), pseudo


def subject_access(upn: str, data_dir: Path | None = None, wait: float = 900.0,
                   on_wait: Callable[[str], None] | None = None) -> dict:
    """Everything held about the pupil: file rows, feedback mentions, warehouse and serving rows.

    The warehouse is read under the shared run lock, as `submit` reads it: during a run this
    waits up to `wait` seconds for the run to end (never opening the file meanwhile, so the
    run's writes cannot fail); still busy then, `warehouse` says the tables were not searched."""
    p = cfg.paths(data_dir)
    u = _check(upn)
    targets, pseudo = _targets(p, u)
    files = [{"path": store.relpath(f, p.root), "rows": [{"sheet": s, "row": i + 1, **rec} for s, i, rec in hits]}
             for f, _, hits in _files_holding(p, targets)]
    feedback = []
    for f in R._feedback_files(p):
        text = f.read_text(encoding="utf-8", errors="replace").upper()
        if any(t in text for t in targets):
            feedback.append(store.relpath(f, p.root))
    tables, warehouse = _table_rows(p, targets, wait, on_wait)
    return {"upn": u, "pseudonym": pseudo,
            "pseudonym_found": bool(pseudo) and any(pseudo in str(x) for x in (files, tables)),
            "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "files": files, "feedback_mentions": feedback, "tables": tables, "warehouse": warehouse}


def _table_rows(p: cfg.Paths, targets: set[str], wait: float = 0.0,
                on_wait: Callable[[str], None] | None = None) -> tuple[list[dict], str]:
    """(rows found per table, what happened to the warehouse: searched / none yet / not searched)."""
    import duckdb

    from pipelines.lib.careers.landing import SHOWN_BY_VIEW
    from pipelines.lib.warehouse import describe_holder, lock_holder, reader_lock
    out = []
    marks = ", ".join("?" for _ in targets)
    warehouse = "no warehouse yet"
    with reader_lock(p.warehouse_dir, wait=wait, on_wait=on_wait) as free:
        if not free:
            warehouse = (f"not searched: {describe_holder(lock_holder(p.warehouse_dir))}; "
                         "run this again when it has finished")
        elif p.warehouse.exists():
            con = duckdb.connect(str(p.warehouse), read_only=True)
            try:
                cols = con.execute("select table_schema, table_name from information_schema.columns "
                                   "where column_name = 'upn' order by 1, 2").fetchall()
                for schema, table in cols:
                    if f"{schema}.{table}" in SHOWN_BY_VIEW:
                        continue
                    df = con.execute(f'select * from "{schema}"."{table}" where upper(trim(upn)) in ({marks})',
                                     list(targets)).df()
                    if len(df):
                        out.append({"table": f"{schema}.{table}", "rows": df.to_dict("records")})
            finally:
                con.close()
            warehouse = "searched"
    if p.serving.is_dir():
        serving = p.serving.resolve()     # one version, even if the publisher swaps it meanwhile
        for f in sorted(serving.glob("*.parquet")):
            con = duckdb.connect()
            names = [r[0] for r in con.execute(f"describe select * from read_parquet('{f}')").fetchall()]
            if "upn" in names:
                df = con.execute(f"select * from read_parquet('{f}') where upper(trim(upn)) in ({marks})",
                                 list(targets)).df()
                if len(df):
                    out.append({"table": f"serving/{f.name}", "rows": df.to_dict("records")})
            con.close()
    return out, warehouse


def erase(upn: str, data_dir: Path | None = None, *, dry_run: bool = False,
          rebuild: Callable[[Path], int] | None = None, by: str | None = None) -> dict:
    """Delete the pupil's rows from every data file, redact feedback, rebuild the warehouse."""
    p = cfg.paths(data_dir)
    u = _check(upn)
    targets, _ = _targets(p, u)
    rep = {"upn": u, "files": [], "rows_removed": 0, "feedback_redacted": 0, "rebuilt": None}
    for f, grid, hits in _files_holding(p, targets):
        rep["files"].append(store.relpath(f, p.root))
        rep["rows_removed"] += len(hits)
        if dry_run:
            continue
        by_sheet: dict = {}
        for s, i, _ in hits:
            by_sheet.setdefault(s, []).append(i)
        for s, idx in by_sheet.items():
            grid.delete_rows(s, idx)
        R._write_rewritten(f, grid.dump(), {"action": "erased", "at": R._now(), "rows": len(hits)})
    mapping = {t: ERASED for t in targets}
    for f in R._feedback_files(p):
        text = f.read_text(encoding="utf-8", errors="replace")
        new, n = R.substitute(text, mapping)
        if n:
            rep["feedback_redacted"] += 1
            if not dry_run:
                store.write_atomic(f, new.encode("utf-8"))
                os.chmod(f, 0o600)
    if not dry_run:
        if rep["files"] and rebuild is not None:
            rep["rebuilt"] = R.rebuild_warehouse(p, rebuild)
        from pipelines.lib.privacy import audit
        audit.record("erasure", user=by, outcome="done" if rep["rebuilt"] in (None, True) else "rebuild failed",
                     data_dir=p.root, files=len(rep["files"]), rows_removed=rep["rows_removed"])
    return rep
