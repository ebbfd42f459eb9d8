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
import os
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import duckdb
import polars as pl

import pipelines.config as cfg
from pipelines.lib.intake.guard import Limits
from pipelines.lib.intake.read import read_ahead
from pipelines.lib.returns import spec, store
from pipelines.lib.returns.context import (PartitionContext, build_context, earlier_rounds_key, load_register,
                                           round_info, validation_settings)
from pipelines.lib.returns.submit import (FeedbackWriter, due_and_late, evaluate_path, feedback_info,  # noqa: F401
                                          problems_from_payload, read_path_checked, round_config, validate_checked,
                                          write_feedback)
from pipelines.lib.returns.reader import ReadResult, clean_reads, stack_files
from pipelines.lib.returns.validate import Checked, ValidationResult, check_rows, finish
from pipelines.lib.warehouse import RETURN_COLUMNS, ensure_raw_tables, replace_in_open_transaction, replace_many

LOADER_VERSION = "3"

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

RETURN_FILE_STATE_DDL = """
create table if not exists raw.return_file_state (
    leaving_year varchar not null,
    round varchar not null,
    submission_id varchar not null,     -- an accepted landing-zone file whose rows were validated
    academy_urn varchar not null,
    file_path varchar not null,
    sha256 varchar not null,
    status varchar not null,            -- accepted | accepted_with_warnings | superseded
    rows_accepted integer not null,
    chain varchar not null,             -- digest of the file, its register row and the rules
    earlier_rounds varchar              -- digest of the academy's earlier rounds when it was checked
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
FILE_STATE_SCHEMA = {
    "leaving_year": pl.Utf8, "round": pl.Utf8, "submission_id": pl.Utf8, "academy_urn": pl.Utf8,
    "file_path": pl.Utf8, "sha256": pl.Utf8, "status": pl.Utf8, "rows_accepted": pl.Int32, "chain": pl.Utf8,
    "earlier_rounds": pl.Utf8,
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
    for ddl in (RETURN_SUBMISSIONS_DDL, RETURN_PROBLEMS_DDL, RETURN_CONFLICTS_DDL, RETURN_LOADS_DDL,
                RETURN_FILE_STATE_DDL):
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
    checked: int = 0                                        # files read and checked (the rest kept as loaded)
    checked_in_order: int = 0                               # of those, checked one by one (pupils of other academies)
    loaded_files: list[str] = field(default_factory=list)   # current files whose rows were (re)loaded

    def metadata(self) -> dict:
        counts: dict[str, int] = {}
        for s in self.submissions:
            counts[s["status"]] = counts.get(s["status"], 0) + 1
        return {"unchanged": self.unchanged, "rows_loaded": self.rows_loaded,
                "files": len(self.submissions), "academies_loaded": len(self.current),
                "quarantined": len(self.quarantined), "files_checked": self.checked,
                "files_checked_one_by_one": self.checked_in_order, **{f"files_{k}": v for k, v in sorted(counts.items())}}


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


def _file_sha(path: Path, cache_dir: Path | None = None) -> str:
    """The file's submitted SHA-256 (retention-rewritten files keep their submission's hash). The hash
    comes from the run's digest cache (size, mtime, change time and inode) when the file is unchanged, so it is not re-read."""
    from pipelines.lib.runstate import file_digest
    actual = file_digest(path, cache_dir) if cache_dir is not None else None
    return store.submitted_sha(path, actual)


def fingerprint(p: cfg.Paths, con: duckdb.DuckDBPyConnection, leaving_year: str, round_id: str,
                landing: list[tuple[str, str]], quarantine: list[tuple[str, str]],
                *, memo: dict | None = None) -> str:
    """Hash of everything the partition's load depends on. `memo`: what two calls within one load
    share (the earlier rounds' files and the re-upload count do not change during it)."""
    memo = {} if memo is None else memo
    kind, prev, intended = round_info(round_id)
    others = sorted({r for r in [prev, *(intended if kind == "actual" else [])] if r})
    prev_shas: list = memo.get("prev", [])
    if others and "prev" not in memo:
        marks = ", ".join("?" for _ in others)
        prev_shas = con.execute(
            f"select distinct round, academy_urn, file_sha256 from raw.destination_returns "
            f"where leaving_year = ? and round in ({marks}) order by all", [leaving_year, *others]).fetchall()
        memo["prev"] = prev_shas
    if "unchanged" not in memo:
        memo["unchanged"] = len(unchanged_uploads(p, leaving_year, round_id))
    reg = p.academies_csv
    payload = {
        "v": LOADER_VERSION, "landing": sorted(landing), "quarantine": sorted(quarantine),
        "register": store.sha256_file(reg) if reg.exists() else None,
        "aliases": store.sha256_bytes(spec.aliases_path().read_bytes()) if spec.aliases_path().exists() else None,
        "share": validation_settings(), "kind": kind, "prev": [list(r) for r in prev_shas],
        "codes": sorted(cfg.destination_codes()),
        "unchanged": memo["unchanged"],
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


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """The validation code itself: a changed rule re-checks every file."""
    lib = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for f in sorted([*lib.joinpath("returns").glob("*.py"), *lib.joinpath("intake").glob("*.py"),
                     lib / "upn.py", lib / "problems.py", lib.parent / "config.py"]):
        if f.exists():
            h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def environment_digest() -> str:
    """Everything a file's check depends on apart from the file, its academy and the files before it."""
    payload = {"v": LOADER_VERSION, "share": validation_settings(), "code": _code_digest(),
               "aliases": store.sha256_bytes(spec.aliases_path().read_bytes()) if spec.aliases_path().exists() else None,
               "codes": sorted(cfg.destination_codes()), "rounds": repr(cfg.rounds())}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class _Candidate:
    at: datetime
    f: store.LandedFile
    sha: str
    by: str
    name: str
    new: bool
    meta: dict | None
    rel: str = ""
    sid: str = ""
    key: str = ""           # digest of the file, its academy's register row and the rules

    @property
    def urn(self) -> str:
        return self.f.academy_urn

    @property
    def confirmed(self) -> bool:
        return bool(not self.new and (self.meta or {}).get("confirmed_smaller"))


def _link(env: str, c: _Candidate, register_row: dict | None) -> str:
    return hashlib.sha256(json.dumps(
        [env, c.rel, c.sha, store.iso(c.at), c.name, c.by, c.confirmed, register_row],
        sort_keys=True, default=str).encode()).hexdigest()


_FILE = "__file"   # which file a stacked row came from (stack_files)


def _tail_upns(tail: list[_Candidate], reads: dict) -> pl.DataFrame:
    """(academy_urn, upn, sid) for the distinct UPNs of every file read, normalised as validation
    normalises them, for the cross-academy rule: one polars pass for all the files."""
    tables = [(c, t) for c in tail if (t := getattr(reads[c.sid], "table", None)) is not None and "upn" in t.columns]
    schema = {"academy_urn": pl.Utf8, "upn": pl.Utf8, "sid": pl.Utf8}
    if not tables:
        return pl.DataFrame(schema=schema)
    every = stack_files([t.select(pl.col("upn").cast(pl.Utf8)) for _, t in tables], _FILE)
    which = every[_FILE]
    return (every.with_columns(pl.Series("academy_urn", [c.urn for c, _ in tables], dtype=pl.Utf8).gather(which),
                               pl.Series("sid", [c.sid for c, _ in tables], dtype=pl.Utf8).gather(which),
                               pl.col("upn").str.to_uppercase().str.replace_all(r"\s+", ""))
            .drop_nulls("upn").unique(maintain_order=True).select(list(schema)))


def _with_file_columns(frames: list[pl.DataFrame], files: list[_Candidate], leaving_year: str,
                       round_id: str) -> pl.DataFrame:
    """The files' typed rows in one frame, with the columns that name each row's file."""
    every = stack_files(frames, _FILE, how="vertical_relaxed")
    which = every[_FILE]
    return every.drop(_FILE).with_columns(
        pl.Series("academy_urn", [c.urn for c in files], dtype=pl.Utf8).gather(which),
        pl.lit(leaving_year).alias("leaving_year"), pl.lit(round_id).alias("round"),
        pl.Series("source_file", [c.rel for c in files], dtype=pl.Utf8).gather(which),
        pl.Series("file_sha256", [c.sha for c in files], dtype=pl.Utf8).gather(which))


BATCH_ROWS = 500_000   # rows checked in one frame (a partition at national scale is split, a file never)


def _check_batch(items: list[tuple], sids: list[str]) -> dict[str, object]:
    """sid -> `check_rows` outcome, in frames of at most BATCH_ROWS rows. A frame that fails is left
    out (None): its files are checked one by one, where a failure is that file's feedback."""
    out: dict[str, object] = {}
    heights = [0 if read.table is None else read.table.height for read, _, _ in items]
    start = 0
    while start < len(items):
        end, size = start, 0
        while end < len(items) and (end == start or size + heights[end] <= BATCH_ROWS):
            size += heights[end]
            end += 1
        try:
            out.update(zip(sids[start:end], check_rows(items[start:end])))
        except Exception:  # noqa: BLE001 - the one-by-one path words the failure for the file
            pass
        start = end
    return out


def load_partition(p: cfg.Paths, con: duckdb.DuckDBPyConnection, leaving_year: str, round_id: str,
                   *, now: datetime | None = None, log: Callable[[str], None] | None = None,
                   full: bool = False, transaction: bool = True,
                   relpaths: store.RelPaths | None = None, feedback: FeedbackWriter | None = None) -> PartitionLoad:
    """Validate, file and load one leaving year x round. Returns what was done.

    Files are replayed in submission order, as `submit` saw them. A file whose check cannot have
    changed (same file, same register row, same files before it, same earlier rounds of its
    academy) is not read again: its rows, submission record and problems stay as loaded. Only new
    files after them are read and checked, against the rows already loaded; any other change
    (a file removed or edited in place, the register changed) replays the whole partition.
    `full` replays it regardless; `transaction=False` leaves the transaction to the caller, which
    calls os.sync() before it commits (the feedback files written here reach the disk first);
    `relpaths`: a `store.RelPaths` of the data directory shared by the partitions of one run;
    `feedback`: the run's `FeedbackWriter` (with transaction=False), drained by the caller before its
    os.sync() and commit; else the load's own, closed before it returns.
    """
    root = p.root.resolve()
    under_root = relpaths or store.RelPaths(p.root, root)
    own = feedback is None
    writer = FeedbackWriter(p.root, root, under_root) if own else feedback
    try:
        out = _load_partition(p, con, leaving_year, round_id, writer, under_root, now=now, log=log, full=full,
                              transaction=transaction)
    except BaseException:
        if own:
            writer.close(check=False)   # no write of this attempt still running
        raise
    if own:
        writer.close()
    return out


def _load_partition(p: cfg.Paths, con: duckdb.DuckDBPyConnection, leaving_year: str, round_id: str,
                    feedback: FeedbackWriter, under_root: store.RelPaths, *, now: datetime | None,
                    log: Callable[[str], None] | None, full: bool, transaction: bool) -> PartitionLoad:
    log = log or (lambda msg: None)
    now = now or store.utc_now()
    ensure_return_tables(con)
    out = PartitionLoad(leaving_year, round_id)
    landing = store.partition_files(p.returns, leaving_year, round_id)
    quarantined = store.partition_files(p.quarantine, leaving_year, round_id)
    cache_dir = p.warehouse_dir if p.warehouse_dir.is_dir() else None
    shas = {f.path: _file_sha(f.path, cache_dir) for f in landing + quarantined}
    root = under_root.root          # the data directory resolved (once, by the run's RelPaths)
    relpath = under_root            # each folder resolved once per run

    memo: dict = {}
    fp = fingerprint(p, con, leaving_year, round_id,
                     [(relpath(f.path), shas[f.path]) for f in landing],
                     [(relpath(f.path), shas[f.path]) for f in quarantined], memo=memo)
    out.fingerprint = fp
    prev = con.execute("select fingerprint from raw.return_loads where leaving_year = ? and round = ?",
                       [leaving_year, round_id]).fetchone()
    if prev and prev[0] == fp and not full:
        out.unchanged = True
        out.rows_loaded = con.execute(
            "select count(*) from raw.destination_returns where leaving_year = ? and round = ?",
            [leaving_year, round_id]).fetchone()[0]
        return out

    # chronological replay of the landing zone
    candidates: list[_Candidate] = []
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
        rel = relpath(f.path)
        candidates.append(_Candidate(at, f, sha, by, name, new, meta, rel, submission_id(rel, sha)))
    candidates.sort(key=lambda c: (c.at, c.f.path.name))

    register = load_register(p.academies_csv)
    earlier = earlier_rounds_key(con, leaving_year, round_id)
    stored: dict[str, tuple] = {} if full else {r[0]: r[1:] for r in con.execute(
        "select submission_id, academy_urn, rows_accepted, chain, earlier_rounds, status, file_path "
        "from raw.return_file_state where leaving_year = ? and round = ?", [leaving_year, round_id]).fetchall()}

    # files whose check stands (same file, register row and rules) are kept as loaded; new files are
    # checked after them against the rows loaded. Anything else replays the partition in order.
    env = environment_digest()
    for c in candidates:
        c.key = _link(env, c, register.get(c.urn))
    prefix = [c for c in candidates if c.sid in stored and stored[c.sid][2] == c.key]
    tail = [c for c in candidates if not (c.sid in stored and stored[c.sid][2] == c.key)]
    removed = set(stored) - {c.sid for c in candidates}
    removed_urns = {stored[r][0] for r in removed}
    replay = (
        full or not prefix
        or any(c.sid in stored for c in tail)                       # a loaded file's check changed
        or any(stored[r][4] != "accepted" and stored[r][4] != "accepted_with_warnings" for r in removed)
        or (tail and candidates.index(tail[0]) < candidates.index(prefix[-1]))   # new file before a kept one
        or (removed_urns and con.execute(                           # another file's check used a removed one
            f"select count(*) from raw.return_upn_conflicts where leaving_year = ? and round = ? and "
            f"other_academy_urn in ({', '.join('?' for _ in removed_urns)}) and file_status <> 'rejected'",
            [leaving_year, round_id, *sorted(removed_urns)]).fetchone()[0]))
    if replay:
        prefix, tail, removed = [], candidates, set()
    incremental = not replay
    removed_files = {stored[r][5] for r in removed}
    refresh = [c for c in prefix if earlier.get(c.urn) != stored[c.sid][3]]
    if tail or refresh:
        log(f"returns {leaving_year} {round_id}: checking {len(tail) + len(refresh)} file(s), "
            f"{len(prefix) - len(refresh)} unchanged kept as loaded")

    pctx = PartitionContext(p, con, leaving_year, round_id, {c.urn for c in tail + refresh})
    rnd = round_config(round_id)      # looked up once, not for each file's feedback
    limits = Limits.from_config()
    try:      # read once for every file (a broken alias file: each file's read words the problem)
        aliases = spec.load_aliases()
    except Exception:  # noqa: BLE001
        aliases = None
    to_read = tail + refresh      # read on two threads (polars and the decoders release the GIL)
    reads = dict(zip([c.sid for c in to_read], read_ahead(
        [(c.f.path, c.name, limits, False, aliases) for c in to_read], read_path_checked)))
    clean_reads([r for r in reads.values() if isinstance(r, ReadResult)])   # the cells of all files at once

    current: dict[str, _Candidate] = {}              # urn -> current file
    current_rows: dict[str, int] = {}                # urn -> rows accepted from its current file
    frames: dict[str, pl.DataFrame] = {}             # urn -> rows to load (academies whose rows change)
    checked: dict[str, tuple[int, str | None]] = {}  # sid -> (rows accepted, earlier rounds digest)
    accepted: list[_Candidate] = []
    records_rejected: list[tuple[str, str, dict]] = []
    audit: list[dict] = []

    # Feedback is written without fsync (durable=False): temp + rename still gives a reader, and the disk
    # after a kill -9 (the page cache survives), the old or the new sidecar whole. Everything in it is
    # derived again by a load from the file, the rules and the sidecar written (fsynced) at submission;
    # 2 fsyncs a file were ~50 s of waiting at `large`. The warehouse commit stays durable.
    # Accepted files' feedback is worded here and written on the writer's threads (`feedback`).
    def accept(c: _Candidate, result: ValidationResult | None, info=None) -> None:
        if info is not None:
            c.meta = feedback.write(c.f.path, info)
        current[c.urn] = c
        if result is not None:
            current_rows[c.urn] = result.rows_accepted
            frames[c.urn] = result.frame      # the file's columns are added once, for all files, below
            checked[c.sid] = (result.rows_accepted, earlier.get(c.urn))
        accepted.append(c)

    # files kept as loaded (their earlier rounds changed: re-checked for the warnings that depend on them)
    conflicts_of: dict[str, dict[str, str]] = {}
    if refresh:
        for sid, upn, other in con.execute(
                "select submission_id, upn, other_academy_urn from raw.return_upn_conflicts "
                "where leaving_year = ? and round = ?", [leaving_year, round_id]).fetchall():
            conflicts_of.setdefault(sid, {})[upn] = other
    refreshing = {c.sid for c in refresh}
    for c in prefix:
        if c.sid not in refreshing:
            current_rows[c.urn] = int(stored[c.sid][1])
            accept(c, None)
            frames.pop(c.urn, None)
            continue
        ctx = pctx.for_academy(c.urn, conflicts_of.get(c.sid, {}))
        if c.urn in current_rows:
            ctx.current_rows = current_rows[c.urn]
        ctx.confirmed_smaller = c.confirmed
        result = validate_checked(reads[c.sid], ctx, c.name)
        if result.status == "rejected":   # cannot happen from earlier rounds alone: check it all again
            feedback.drain()              # the replay writes the same files' feedback
            return load_partition(p, con, leaving_year, round_id, now=now, log=log, full=True,
                                  transaction=transaction, relpaths=under_root, feedback=feedback)
        info = feedback_info(name=c.name, ctx=ctx, result=result, status=result.status, submitted_at=c.at,
                             submitted_by=c.by, sha=c.sha, rnd=rnd)
        accept(c, result, info)

    # the files to check, in order, against the rows already loaded; only UPNs that two academies
    # return can conflict, so only those are tracked
    tail_pairs = _tail_upns(tail, reads)          # academy_urn, upn, sid: every file's UPNs at once
    contested: set[str] = set()
    owner: dict[str, str] = {}
    if tail_pairs.height:
        pairs = tail_pairs.select("academy_urn", "upn")
        if incremental:
            con.register("_tail_upns", pairs.select("upn").unique().to_arrow())
            owner = {}
            for upn, urn, source in con.execute(
                    "select upn, academy_urn, source_file from raw.destination_returns where leaving_year = ? "
                    "and round = ? and upn in (select upn from _tail_upns) order by upn, academy_urn",
                    [leaving_year, round_id]).fetchall():
                if source not in removed_files:      # rows of a removed file own nothing any more
                    owner.setdefault(upn, urn)
            con.unregister("_tail_upns")
            loaded = pl.DataFrame({"academy_urn": list(owner.values()), "upn": list(owner)},
                                  schema={"academy_urn": pl.Utf8, "upn": pl.Utf8})
            pairs = pl.concat([pairs, loaded.select("academy_urn", "upn")])
        contested = set(pairs.group_by("upn").agg(pl.col("academy_urn").n_unique().alias("n"))
                        .filter(pl.col("n") > 1)["upn"].to_list())
        owner = {u: a for u, a in owner.items() if u in contested}
    # A file none of whose pupils another academy returns gets the same check whatever the order: its row
    # rules run for all such files at once (one polars frame). Only the verdict that depends on the files
    # before it (much smaller than the academy's current return) waits for the replay below; files that
    # share a pupil with another academy are checked one by one in order, as at submission.
    in_order = set(tail_pairs.filter(pl.col("upn").is_in(list(contested)))["sid"].unique().to_list()) if contested else set()
    batch = {c.sid: pctx.for_academy(c.urn, {}) for c in tail
             if c.sid not in in_order and isinstance(reads[c.sid], ReadResult)}
    checked_rows = _check_batch([(reads[c.sid], batch[c.sid], c.name) for c in tail if c.sid in batch],
                                [c.sid for c in tail if c.sid in batch])
    batched = sum(r is not None for r in checked_rows.values())
    for c in tail:
        if checked_rows.get(c.sid) is not None:
            ctx = batch[c.sid]
            if c.urn in current_rows:
                ctx.current_rows = current_rows[c.urn]
            ctx.confirmed_smaller = c.confirmed
            reads.pop(c.sid)
            done = checked_rows.pop(c.sid)
            result = finish(done, ctx, c.name) if isinstance(done, Checked) else done
        else:
            others = {u: a for u, a in owner.items() if a != c.urn}
            ctx = pctx.for_academy(c.urn, others)
            if c.urn in current_rows:
                ctx.current_rows = current_rows[c.urn]
            ctx.confirmed_smaller = c.confirmed
            result = validate_checked(reads.pop(c.sid), ctx, c.name)
        status = result.status
        info = feedback_info(name=c.name, ctx=ctx, result=result, status=status, submitted_at=c.at,
                             submitted_by=c.by, sha=c.sha, rnd=rnd)
        if c.new:
            audit.append({
                "event": "landed", "at": store.iso(now), "by": c.by, "academy_urn": c.urn,
                "leaving_year": leaving_year, "round": round_id, "original_name": c.name, "sha256": c.sha,
                "status": status, "stored_path": c.rel,
                "rows_total": result.rows_total, "rows_accepted": result.rows_accepted,
                "rows_rejected": result.rows_rejected, "warnings": result.warnings})
        if status == "rejected":
            target = store.quarantine(_quarantine_target(p, c.f, c.sha, c.at), move_from=c.f.path)
            for suffix in store.SIDECAR_SUFFIXES:
                old = store.sidecar(c.f.path, suffix)
                if old.exists():
                    old.unlink()
            write_feedback(target, info, p.root, durable=False, resolved_root=root)
            from pipelines.lib.privacy.retention import strip_to_spec
            strip_to_spec(target)  # quarantine keeps only the return's columns
            rel = relpath(target)
            out.quarantined.append(rel)
            log(f"rejected {c.rel} -> {rel}")
            audit.append({
                "event": "quarantined", "at": store.iso(now), "by": "pipeline", "academy_urn": c.urn,
                "leaving_year": leaving_year, "round": round_id, "original_name": c.name, "sha256": c.sha,
                "status": status, "from_path": c.rel, "stored_path": rel})
            quarantined.append(store.LandedFile(target, c.urn, leaving_year, round_id))
            shas[target] = c.sha
            continue
        for u in [u for u, a in owner.items() if a == c.urn]:
            del owner[u]
        if contested and c.sid in in_order:       # a batch file holds no contested UPN
            for u in result.frame["upn"].to_list():
                if u in contested:
                    owner.setdefault(u, c.urn)
        accept(c, result, info)
    store.append_audit_many(p, audit)
    if any(current.get(u) is not None and current[u].sid not in checked for u in removed_urns):
        # a removed current file leaves an older file current, whose rows are not loaded: replay
        feedback.drain()
        return load_partition(p, con, leaving_year, round_id, now=now, log=log, full=True,
                              transaction=transaction, relpaths=under_root, feedback=feedback)

    for q in quarantined:
        sha = shas.get(q.path) or _file_sha(q.path, cache_dir)
        meta = store.read_sidecar(q.path)
        if not meta or meta.get("sha256") != sha:
            at = datetime.fromtimestamp(q.path.stat().st_mtime, timezone.utc)
            ctx = build_context(p, q.academy_urn, leaving_year, round_id, con, other_academy_upns={})
            result = evaluate_path(q.path, q.path.name, ctx)
            info = feedback_info(name=q.path.name, ctx=ctx, result=result, status="rejected",
                                 submitted_at=at, submitted_by="quarantine", sha=sha)
            write_feedback(q.path, info, p.root, durable=False, resolved_root=root)
            meta = store.read_sidecar(q.path) or {}
        records_rejected.append((relpath(q.path), sha, meta))

    # records, problems and conflicts of every file (from the sidecars); rows only where they changed
    subs: list[dict] = []
    probs: list[dict] = []
    conflicts: list[dict] = []
    states: list[dict] = []
    for c in accepted:
        meta = c.meta or {}
        is_current = current[c.urn].sid == c.sid
        status = meta.get("status", "accepted") if is_current else "superseded"
        subs.append(_record(c.rel, c.sha, meta, status, is_current, now))
        probs.extend(_problem_rows(c.rel, c.sha, meta))
        conflicts.extend(_conflict_rows(c.rel, c.sha, meta, status))
        rows_ok, earlier_key = checked.get(c.sid) or (int(stored[c.sid][1]), stored[c.sid][3])
        states.append({"leaving_year": leaving_year, "round": round_id, "submission_id": c.sid,
                       "academy_urn": c.urn, "file_path": c.rel, "sha256": c.sha, "status": status,
                       "rows_accepted": rows_ok, "chain": c.key, "earlier_rounds": earlier_key})
    for rel, sha, meta in records_rejected:
        meta.setdefault("academy_urn", Path(rel).parts[1])
        meta.setdefault("leaving_year", leaving_year)
        meta.setdefault("round", round_id)
        subs.append(_record(rel, sha, meta, "rejected", False, now))
        probs.extend(_problem_rows(rel, sha, meta))
        conflicts.extend(_conflict_rows(rel, sha, meta, "rejected"))
    metas = {c.rel: c.meta or {} for c in accepted}
    for ev in unchanged_uploads(p, leaving_year, round_id):
        rel = ev.get("stored_path", "")
        base = dict(metas.get(rel, {}))
        base.update({"academy_urn": ev["academy_urn"], "leaving_year": leaving_year, "round": round_id,
                     "original_name": ev.get("original_name"), "submitted_at": ev.get("at"),
                     "submitted_by": ev.get("by"), "feedback_path": ev.get("feedback_path")})
        at = _parse_ts(ev.get("at")) or now
        due, late = due_and_late(leaving_year, round_id, at, rnd)
        base.update({"due_date": due, "is_late": late})
        rec = _record(f"{rel}@{ev.get('at')}", ev.get("sha256", ""), base, "unchanged", False, now)
        rec["file_path"] = rel
        subs.append(rec)
    out.current = {urn: c.rel for urn, c in sorted(current.items())}
    # academies whose loaded rows change: a new current file, a re-checked one, or none any more
    if incremental:
        before = {a for (a,) in con.execute(
            "select distinct academy_urn from raw.destination_returns where leaving_year = ? and round = ?",
            [leaving_year, round_id]).fetchall()}
        changed_urns = set(frames) | (before - set(current))
    else:
        changed_urns = None
    load = [u for u in sorted(frames) if current[u].sid in checked]
    rows = (_with_file_columns([frames[u] for u in load], [current[u] for u in load], leaving_year, round_id)
            .select(RETURN_COLUMNS).cast(RETURNS_SCHEMA) if load else pl.DataFrame(schema=RETURNS_SCHEMA))
    sub_frame = pl.DataFrame(subs, schema=SUBMISSION_SCHEMA) if subs else pl.DataFrame(schema=SUBMISSION_SCHEMA)
    prob_frame = pl.DataFrame(probs, schema=PROBLEM_SCHEMA) if probs else pl.DataFrame(schema=PROBLEM_SCHEMA)
    # the fingerprint must cover the files as they are now (quarantine moves changed the listing)
    after_landing = store.partition_files(p.returns, leaving_year, round_id)
    after_q = store.partition_files(p.quarantine, leaving_year, round_id)
    fp_after = fingerprint(p, con, leaving_year, round_id,
                           [(relpath(f.path), shas.get(f.path) or _file_sha(f.path, cache_dir))
                            for f in after_landing],
                           [(relpath(f.path), shas.get(f.path) or _file_sha(f.path, cache_dir))
                            for f in after_q], memo=memo)
    out.fingerprint = fp_after
    part = "leaving_year = ? and round = ?"
    params = [leaving_year, round_id]
    if changed_urns is None:
        row_change = (rows, part, params)
    elif changed_urns:
        marks = ", ".join("?" for _ in changed_urns)
        row_change = (rows, f"{part} and academy_urn in ({marks})", [*params, *sorted(changed_urns)])
    else:
        row_change = None
    changes = [(t, f, part, params) for t, f in (
        ("raw.return_submissions", sub_frame), ("raw.return_problems", prob_frame),
        ("raw.return_upn_conflicts", pl.DataFrame(conflicts, schema=CONFLICT_SCHEMA)),
        ("raw.return_file_state", pl.DataFrame(states, schema=FILE_STATE_SCHEMA)))]
    if row_change is not None:
        changes.insert(0, ("raw.destination_returns", *row_change))
    # The feedback written above without fsync reaches the disk before the commit that records it as
    # done: after a power cut the warehouse never says "checked" over an empty feedback file. A caller
    # holding the transaction (transaction=False) syncs once before its own commit.
    if transaction:
        feedback.drain()
        os.sync()
    _write(con, changes, transaction)
    out.rows_loaded = con.execute(f"select count(*) from raw.destination_returns where {part}", params).fetchone()[0]
    loads = pl.DataFrame([{"leaving_year": leaving_year, "round": round_id, "fingerprint": fp_after,
                           "loaded_at": now.astimezone(timezone.utc).replace(tzinfo=None),
                           "files": len(subs), "rows_loaded": out.rows_loaded}])
    _write(con, [("raw.return_loads", loads, part, params)], transaction)
    out.submissions = subs
    out.checked = len(tail) + len(refresh)
    out.checked_in_order = sum(c.sid in in_order for c in tail) + len(refresh) + len(batch) - batched
    out.loaded_files = sorted(current[u].rel for u in frames)
    return out


def _write(con: duckdb.DuckDBPyConnection, changes: list[tuple[str, pl.DataFrame, str, list]],
           transaction: bool) -> None:
    """Delete + insert per table; in one transaction of its own unless the caller holds one."""
    if transaction:
        replace_many(con, changes)
    else:
        replace_in_open_transaction(con, changes)


def replace_partition(con: duckdb.DuckDBPyConnection, leaving_year: str, round_id: str,
                      frames: dict[str, pl.DataFrame]) -> None:
    """Replace one partition's rows in several raw tables in a single transaction (all or nothing)."""
    replace_many(con, [(table, frame, "leaving_year = ? and round = ?", [leaving_year, round_id])
                       for table, frame in frames.items()])
