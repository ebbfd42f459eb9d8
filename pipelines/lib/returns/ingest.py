"""Load one leaving year x round of returns from the landing zone into the warehouse.

Used by the `destination_returns` Dagster asset. Every file in
raw/returns/*/<year>/<round>/ is validated exactly as `submit_file` does, in the
order the files were submitted (so the later of two academies returning the same
pupil gets the cross-academy error, as it would at submission). Per academy the
newest accepted file is current; older files stay on disk, recorded as
superseded; rejected files that arrived directly in the landing zone move to
quarantine/ with their feedback. The partition's rows in raw.destination_returns,
raw.return_submissions and raw.return_problems are replaced in one transaction.
Nothing is written when no input changed since the last load (fingerprint).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import duckdb
import polars as pl

import pipelines.config as cfg
from pipelines.lib.returns import spec, store
from pipelines.lib.returns.context import build_context, round_info, validation_settings
from pipelines.lib.returns.submit import (due_and_late, evaluate_path, feedback_info,
                                          problems_from_payload, write_feedback)
from pipelines.lib.returns.validate import ValidationResult
from pipelines.lib.warehouse import RETURN_COLUMNS, ensure_raw_tables, replace_many

LOADER_VERSION = "2"

RETURN_SUBMISSIONS_DDL = """
create table if not exists raw.return_submissions (
    submission_id varchar not null,     -- hash of file path + sha256
    academy_urn varchar not null,
    leaving_year varchar not null,
    round varchar not null,
    file_path varchar not null,         -- relative to the data directory (landing zone or quarantine)
    original_name varchar,
    sha256 varchar not null,
    submitted_at timestamp not null,    -- UTC
    submitted_by varchar not null,
    status varchar not null,            -- accepted | accepted_with_warnings | rejected | superseded
    is_current boolean not null,        -- the file whose rows are loaded for this academy x year x round
    rows_total integer not null,
    rows_accepted integer not null,
    rows_rejected integer not null,
    errors integer not null,
    warnings integer not null,
    feedback_path varchar,              -- HTML feedback report, relative to the data directory
    due_date date,
    is_late boolean,
    processed_at timestamp not null
)
"""

RETURN_PROBLEMS_DDL = """
create table if not exists raw.return_problems (
    submission_id varchar not null,
    file_sha256 varchar not null,
    academy_urn varchar not null,
    leaving_year varchar not null,
    round varchar not null,
    file_path varchar not null,
    severity varchar not null,          -- file | error | warning
    rule varchar not null,
    row_number integer,                 -- row as the academy sees it in Excel
    column_name varchar,                -- header as written in the file
    value varchar,                      -- formula characters neutralised
    message varchar not null,
    fix varchar not null
)
"""

RETURN_CONFLICTS_DDL = """
create table if not exists raw.return_upn_conflicts (
    leaving_year varchar not null,
    round varchar not null,
    academy_urn varchar not null,       -- the academy whose file returned the pupil second
    other_academy_urn varchar not null, -- the academy that had already returned the pupil
    upn varchar not null,
    source_row integer,
    file_path varchar not null,
    submission_id varchar not null,
    file_status varchar not null        -- status of the second file (rejected: too many such pupils)
)
"""

RETURN_LOADS_DDL = """
create table if not exists raw.return_loads (
    leaving_year varchar not null,
    round varchar not null,
    fingerprint varchar not null,
    loaded_at timestamp not null,
    files integer not null,
    rows_loaded integer not null
)
"""

SUBMISSION_SCHEMA = {
    "submission_id": pl.Utf8, "academy_urn": pl.Utf8, "leaving_year": pl.Utf8, "round": pl.Utf8,
    "file_path": pl.Utf8, "original_name": pl.Utf8, "sha256": pl.Utf8, "submitted_at": pl.Datetime("us"),
    "submitted_by": pl.Utf8, "status": pl.Utf8, "is_current": pl.Boolean, "rows_total": pl.Int32,
    "rows_accepted": pl.Int32, "rows_rejected": pl.Int32, "errors": pl.Int32, "warnings": pl.Int32,
    "feedback_path": pl.Utf8, "due_date": pl.Date, "is_late": pl.Boolean, "processed_at": pl.Datetime("us"),
}
CONFLICT_SCHEMA = {
    "leaving_year": pl.Utf8, "round": pl.Utf8, "academy_urn": pl.Utf8, "other_academy_urn": pl.Utf8,
    "upn": pl.Utf8, "source_row": pl.Int32, "file_path": pl.Utf8, "submission_id": pl.Utf8,
    "file_status": pl.Utf8,
}
PROBLEM_SCHEMA = {
    "submission_id": pl.Utf8, "file_sha256": pl.Utf8, "academy_urn": pl.Utf8, "leaving_year": pl.Utf8,
    "round": pl.Utf8, "file_path": pl.Utf8, "severity": pl.Utf8, "rule": pl.Utf8, "row_number": pl.Int32,
    "column_name": pl.Utf8, "value": pl.Utf8, "message": pl.Utf8, "fix": pl.Utf8,
}
RETURNS_SCHEMA = {
    "academy_urn": pl.Utf8, "leaving_year": pl.Utf8, "round": pl.Utf8, "upn": pl.Utf8,
    "upn_is_temporary": pl.Boolean, "year_group": pl.Int32, "sex": pl.Utf8, "disadvantaged": pl.Boolean,
    "sen_provision": pl.Utf8, "destination_code": pl.Utf8, "fsm_eligible": pl.Boolean,
    "looked_after": pl.Boolean, "ethnicity": pl.Utf8, "route": pl.Utf8, "provider": pl.Utf8,
    "provider_id": pl.Utf8, "level": pl.Utf8, "september_guarantee": pl.Utf8,
    "consent_follow_up": pl.Boolean, "date_ascertained": pl.Date, "pupil_name": pl.Utf8, "source_file": pl.Utf8,
    "file_sha256": pl.Utf8, "source_row": pl.Int32,
}


def ensure_return_tables(con: duckdb.DuckDBPyConnection) -> None:
    ensure_raw_tables(con)
    for ddl in (RETURN_SUBMISSIONS_DDL, RETURN_PROBLEMS_DDL, RETURN_CONFLICTS_DDL, RETURN_LOADS_DDL):
        con.execute(ddl)


@dataclass
class PartitionLoad:
    leaving_year: str
    round_id: str
    unchanged: bool = False
    fingerprint: str = ""
    rows_loaded: int = 0
    submissions: list[dict] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    current: dict[str, str] = field(default_factory=dict)   # urn -> current file (relative path)

    def metadata(self) -> dict:
        counts: dict[str, int] = {}
        for s in self.submissions:
            counts[s["status"]] = counts.get(s["status"], 0) + 1
        return {"unchanged": self.unchanged, "rows_loaded": self.rows_loaded,
                "files": len(self.submissions), "academies_loaded": len(self.current),
                "quarantined": len(self.quarantined), **{f"files_{k}": v for k, v in sorted(counts.items())}}


def submission_id(rel: str, sha: str) -> str:
    return hashlib.sha256(f"{rel}\n{sha}".encode()).hexdigest()[:16]


def _parse_ts(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def _file_sha(path: Path) -> str:
    return store.submitted_sha(path)  # retention-rewritten files keep their submission's hash


def fingerprint(p: cfg.Paths, con: duckdb.DuckDBPyConnection, leaving_year: str, round_id: str,
                landing: list[tuple[str, str]], quarantine: list[tuple[str, str]]) -> str:
    """Hash of everything the partition's load depends on."""
    kind, prev, intended = round_info(round_id)
    others = sorted({r for r in [prev, *(intended if kind == "actual" else [])] if r})
    prev_shas: list = []
    if others:
        marks = ", ".join("?" for _ in others)
        prev_shas = con.execute(
            f"select distinct round, academy_urn, file_sha256 from raw.destination_returns "
            f"where leaving_year = ? and round in ({marks}) order by all", [leaving_year, *others]).fetchall()
    reg = p.academies_csv
    payload = {
        "v": LOADER_VERSION, "landing": sorted(landing), "quarantine": sorted(quarantine),
        "register": store.sha256_file(reg) if reg.exists() else None,
        "aliases": store.sha256_bytes(spec.aliases_path().read_bytes()) if spec.aliases_path().exists() else None,
        "share": validation_settings(), "kind": kind, "prev": [list(r) for r in prev_shas],
        "codes": sorted(cfg.destination_codes()),
        "unchanged": len(unchanged_uploads(p, leaving_year, round_id)),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def unchanged_uploads(p: cfg.Paths, leaving_year: str, round_id: str) -> list[dict]:
    """Audit-log events of identical re-uploads (status unchanged) for one leaving year x round."""
    out: list[dict] = []
    if not p.audit_log.exists():
        return out
    with open(p.audit_log, encoding="utf-8") as fh:
        for line in fh:
            if '"unchanged"' not in line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if (ev.get("status") == "unchanged" and ev.get("leaving_year") == leaving_year
                    and ev.get("round") == round_id):
                out.append(ev)
    return out


def _record(rel: str, sha: str, meta: dict, status: str, is_current: bool, now: datetime) -> dict:
    due = meta.get("due_date")
    return {
        "submission_id": submission_id(rel, sha), "academy_urn": meta["academy_urn"],
        "leaving_year": meta["leaving_year"], "round": meta["round"], "file_path": rel,
        "original_name": meta.get("original_name"), "sha256": sha,
        "submitted_at": (_parse_ts(meta.get("submitted_at")) or now).astimezone(timezone.utc).replace(tzinfo=None),
        "submitted_by": meta.get("submitted_by") or "landing zone", "status": status,
        "is_current": is_current, "rows_total": int(meta.get("rows_total") or 0),
        "rows_accepted": int(meta.get("rows_accepted") or 0) if status != "rejected" else 0,
        "rows_rejected": int(meta.get("rows_rejected") or 0), "errors": int(meta.get("errors") or 0),
        "warnings": int(meta.get("warnings") or 0), "feedback_path": meta.get("feedback_path"),
        "due_date": datetime.fromisoformat(due).date() if due else None,
        "is_late": meta.get("is_late"), "processed_at": now.astimezone(timezone.utc).replace(tzinfo=None),
    }


def _problem_rows(rel: str, sha: str, meta: dict) -> list[dict]:
    sid = submission_id(rel, sha)
    return [{
        "submission_id": sid, "file_sha256": sha, "academy_urn": meta["academy_urn"],
        "leaving_year": meta["leaving_year"], "round": meta["round"], "file_path": rel,
        "severity": pr["severity"], "rule": pr["rule"], "row_number": pr.get("row"),
        "column_name": pr.get("column"), "value": pr.get("value"), "message": pr["message"],
        "fix": pr["fix"],
    } for pr in meta.get("problems", [])]


def _conflict_rows(rel: str, sha: str, meta: dict, status: str) -> list[dict]:
    sid = submission_id(rel, sha)
    return [{"leaving_year": meta["leaving_year"], "round": meta["round"], "academy_urn": meta["academy_urn"],
             "other_academy_urn": other, "upn": upn, "source_row": row, "file_path": rel,
             "submission_id": sid, "file_status": status}
            for row, upn, other in meta.get("conflicts") or []]


def _quarantine_target(p: cfg.Paths, f: store.LandedFile, sha: str, when: datetime) -> Path:
    d = store.partition_dir(p.quarantine, f.academy_urn, f.leaving_year, f.round_id)
    target = d / f.path.name
    if target.exists() or target.name != store.safe_name(target.name):
        target = d / store.stamped_name(f.path.name, sha, when)
    return target


def load_partition(p: cfg.Paths, con: duckdb.DuckDBPyConnection, leaving_year: str, round_id: str,
                   *, now: datetime | None = None, log: Callable[[str], None] | None = None) -> PartitionLoad:
    """Validate, file and load one leaving year x round. Returns what was done."""
    log = log or (lambda msg: None)
    now = now or store.utc_now()
    ensure_return_tables(con)
    out = PartitionLoad(leaving_year, round_id)
    landing = store.partition_files(p.returns, leaving_year, round_id)
    quarantined = store.partition_files(p.quarantine, leaving_year, round_id)
    shas = {f.path: _file_sha(f.path) for f in landing + quarantined}
    fp = fingerprint(p, con, leaving_year, round_id,
                     [(store.relpath(f.path, p.root), shas[f.path]) for f in landing],
                     [(store.relpath(f.path, p.root), shas[f.path]) for f in quarantined])
    out.fingerprint = fp
    prev = con.execute("select fingerprint from raw.return_loads where leaving_year = ? and round = ?",
                       [leaving_year, round_id]).fetchone()
    if prev and prev[0] == fp:
        out.unchanged = True
        out.rows_loaded = con.execute(
            "select count(*) from raw.destination_returns where leaving_year = ? and round = ?",
            [leaving_year, round_id]).fetchone()[0]
        return out

    # chronological replay of the landing zone
    candidates = []
    for f in landing:
        meta = store.read_sidecar(f.path)
        sha = shas[f.path]
        if meta and meta.get("sha256") == sha:
            at = _parse_ts(meta.get("submitted_at")) or now
            by = meta.get("submitted_by") or "landing zone"
            name = meta.get("original_name") or f.path.name
            new = False
        else:
            at = datetime.fromtimestamp(f.path.stat().st_mtime, timezone.utc)
            by, name, new = "landing zone", f.path.name, True
        candidates.append((at, f.path.name, f, sha, by, name, new))
    candidates.sort(key=lambda c: (c[0], c[1]))

    owner: dict[str, str] = {}                       # UPN -> URN, current files of every academy so far
    current: dict[str, tuple] = {}                   # URN -> (file, sha, result, meta)
    accepted_meta: list[tuple[str, str, dict, str]] = []   # rel, sha, meta, urn (accepted files, in order)
    records_rejected: list[tuple[str, str, dict]] = []
    for at, _, f, sha, by, name, new in candidates:
        others = {u: a for u, a in owner.items() if a != f.academy_urn}
        ctx = build_context(p, f.academy_urn, leaving_year, round_id, con, other_academy_upns=others)
        if f.academy_urn in current:
            ctx.current_rows = current[f.academy_urn][2].rows_accepted
        ctx.confirmed_smaller = bool(not new and (store.read_sidecar(f.path) or {}).get("confirmed_smaller"))
        result: ValidationResult = evaluate_path(f.path, name, ctx)
        status = result.status
        info = feedback_info(name=name, ctx=ctx, result=result, status=status, submitted_at=at,
                             submitted_by=by, sha=sha)
        if new:
            store.append_audit(p, {
                "event": "landed", "at": store.iso(now), "by": by, "academy_urn": f.academy_urn,
                "leaving_year": leaving_year, "round": round_id, "original_name": name, "sha256": sha,
                "status": status, "stored_path": store.relpath(f.path, p.root),
                "rows_total": result.rows_total, "rows_accepted": result.rows_accepted,
                "rows_rejected": result.rows_rejected, "warnings": result.warnings})
        if status == "rejected":
            target = store.quarantine(_quarantine_target(p, f, sha, at), move_from=f.path)
            for suffix in store.SIDECAR_SUFFIXES:
                old = store.sidecar(f.path, suffix)
                if old.exists():
                    old.unlink()
            write_feedback(target, info, p.root)
            from pipelines.lib.privacy.retention import strip_to_spec
            strip_to_spec(target)  # quarantine keeps only the return's columns
            rel = store.relpath(target, p.root)
            out.quarantined.append(rel)
            log(f"rejected {store.relpath(f.path, p.root)} -> {rel}")
            store.append_audit(p, {
                "event": "quarantined", "at": store.iso(now), "by": "pipeline", "academy_urn": f.academy_urn,
                "leaving_year": leaving_year, "round": round_id, "original_name": name, "sha256": sha,
                "status": status, "from_path": store.relpath(f.path, p.root), "stored_path": rel})
            quarantined.append(store.LandedFile(target, f.academy_urn, leaving_year, round_id))
            shas[target] = sha
            continue
        write_feedback(f.path, info, p.root)
        meta = store.read_sidecar(f.path) or {}
        rel = store.relpath(f.path, p.root)
        if f.academy_urn in current:
            for u in current[f.academy_urn][2].frame["upn"].to_list():
                if owner.get(u) == f.academy_urn:
                    del owner[u]
        for u in result.frame["upn"].to_list():
            owner.setdefault(u, f.academy_urn)
        current[f.academy_urn] = (f, sha, result, meta)
        accepted_meta.append((rel, sha, meta, f.academy_urn))

    for q in quarantined:
        sha = shas.get(q.path) or _file_sha(q.path)
        meta = store.read_sidecar(q.path)
        if not meta or meta.get("sha256") != sha:
            at = datetime.fromtimestamp(q.path.stat().st_mtime, timezone.utc)
            ctx = build_context(p, q.academy_urn, leaving_year, round_id, con, other_academy_upns={})
            result = evaluate_path(q.path, q.path.name, ctx)
            info = feedback_info(name=q.path.name, ctx=ctx, result=result, status="rejected",
                                 submitted_at=at, submitted_by="quarantine", sha=sha)
            write_feedback(q.path, info, p.root)
            meta = store.read_sidecar(q.path) or {}
        records_rejected.append((store.relpath(q.path, p.root), sha, meta))

    # frames to load
    subs: list[dict] = []
    probs: list[dict] = []
    conflicts: list[dict] = []
    frames: list[pl.DataFrame] = []
    for rel, sha, meta, urn in accepted_meta:
        is_current = current[urn][0].path.name == Path(rel).name and current[urn][1] == sha
        subs.append(_record(rel, sha, meta, meta.get("status", "accepted") if is_current else "superseded",
                            is_current, now))
        probs.extend(_problem_rows(rel, sha, meta))
        conflicts.extend(_conflict_rows(rel, sha, meta, subs[-1]["status"]))
    for rel, sha, meta in records_rejected:
        meta.setdefault("academy_urn", Path(rel).parts[1])
        meta.setdefault("leaving_year", leaving_year)
        meta.setdefault("round", round_id)
        subs.append(_record(rel, sha, meta, "rejected", False, now))
        probs.extend(_problem_rows(rel, sha, meta))
        conflicts.extend(_conflict_rows(rel, sha, meta, "rejected"))
    metas = {rel: meta for rel, _, meta, _ in accepted_meta}
    for ev in unchanged_uploads(p, leaving_year, round_id):
        rel = ev.get("stored_path", "")
        base = dict(metas.get(rel, {}))
        base.update({"academy_urn": ev["academy_urn"], "leaving_year": leaving_year, "round": round_id,
                     "original_name": ev.get("original_name"), "submitted_at": ev.get("at"),
                     "submitted_by": ev.get("by"), "feedback_path": ev.get("feedback_path")})
        at = _parse_ts(ev.get("at")) or now
        due, late = due_and_late(leaving_year, round_id, at)
        base.update({"due_date": due, "is_late": late})
        rec = _record(f"{rel}@{ev.get('at')}", ev.get("sha256", ""), base, "unchanged", False, now)
        rec["file_path"] = rel
        subs.append(rec)
    for urn, (f, sha, result, meta) in sorted(current.items()):
        frames.append(result.frame.with_columns(
            pl.lit(urn).alias("academy_urn"), pl.lit(leaving_year).alias("leaving_year"),
            pl.lit(round_id).alias("round"), pl.lit(store.relpath(f.path, p.root)).alias("source_file"),
            pl.lit(sha).alias("file_sha256")))
        out.current[urn] = store.relpath(f.path, p.root)
    rows = (pl.concat(frames, how="vertical_relaxed").select(RETURN_COLUMNS).cast(RETURNS_SCHEMA)
            if frames else pl.DataFrame(schema=RETURNS_SCHEMA))
    sub_frame = pl.DataFrame(subs, schema=SUBMISSION_SCHEMA) if subs else pl.DataFrame(schema=SUBMISSION_SCHEMA)
    prob_frame = pl.DataFrame(probs, schema=PROBLEM_SCHEMA) if probs else pl.DataFrame(schema=PROBLEM_SCHEMA)
    loads = pl.DataFrame([{"leaving_year": leaving_year, "round": round_id, "fingerprint": "",
                           "loaded_at": now.astimezone(timezone.utc).replace(tzinfo=None),
                           "files": len(subs), "rows_loaded": rows.height}])
    # the fingerprint must cover the files as they are now (quarantine moves changed the listing)
    after_landing = store.partition_files(p.returns, leaving_year, round_id)
    after_q = store.partition_files(p.quarantine, leaving_year, round_id)
    all_shas = {**shas}
    fp_after = fingerprint(p, con, leaving_year, round_id,
                           [(store.relpath(f.path, p.root), all_shas.get(f.path) or _file_sha(f.path)) for f in after_landing],
                           [(store.relpath(f.path, p.root), all_shas.get(f.path) or _file_sha(f.path)) for f in after_q])
    loads = loads.with_columns(pl.lit(fp_after).alias("fingerprint"))
    out.fingerprint = fp_after
    replace_partition(con, leaving_year, round_id, {
        "raw.destination_returns": rows, "raw.return_submissions": sub_frame,
        "raw.return_problems": prob_frame, "raw.return_loads": loads,
        "raw.return_upn_conflicts": pl.DataFrame(conflicts, schema=CONFLICT_SCHEMA)})
    out.rows_loaded = rows.height
    out.submissions = subs
    return out


def replace_partition(con: duckdb.DuckDBPyConnection, leaving_year: str, round_id: str,
                      frames: dict[str, pl.DataFrame]) -> None:
    """Replace one partition's rows in several raw tables in a single transaction (all or nothing)."""
    replace_many(con, [(table, frame, "leaving_year = ? and round = ?", [leaving_year, round_id])
                       for table, frame in frames.items()])
