"""Submit one academy return: validate, file it (landing zone or quarantine), feed back, audit.

`submit_file` is what `destinations submit` and the dashboard's Upload page call.
It never writes the warehouse (the pipeline is its single writer): accepted files
land in raw/returns/<URN>/<YYYY-YY>/<round>/ and the `destination_returns` asset
(sensor or `destinations run`) loads them, re-checking them exactly the same way.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

import pipelines.config as cfg
from pipelines.lib.intake.guard import Refused
from pipelines.lib.intake.read import file_bytes
from pipelines.lib.problems import Problem
from pipelines.lib.returns import store
from pipelines.lib.returns.context import build_context, read_only_warehouse
from pipelines.lib.returns.feedback import FeedbackInfo, render_html, summary_text
from pipelines.lib.returns.reader import ReadResult, read_return
from pipelines.lib.returns.validate import (Changes, ValidationContext, ValidationResult, rejected_result,
                                           validate_return)


@dataclass
class SubmissionOutcome:
    status: str                      # accepted | accepted_with_warnings | rejected | unchanged
    exit_code: int                   # 0 accepted/unchanged, 1 rejected
    problems: list[Problem] = field(default_factory=list)
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    warnings: int = 0
    stored_path: Path | None = None  # where the file was filed (landing zone or quarantine)
    report_path: Path | None = None  # the HTML feedback report
    summary_text: str = ""
    sha256: str = ""
    academy_urn: str = ""
    leaving_year: str = ""
    round_id: str = ""


def check_arguments(academy_urn: str, leaving_year: str, round_id: str) -> str | None:
    """None when the arguments are usable, else what is wrong (the CLI exits 2)."""
    if not store.URN_RE.match(str(academy_urn or "")):
        return f"--urn must be a 6-digit URN, got {academy_urn!r}"
    if not cfg.is_leaving_year(str(leaving_year or "")):
        return f"--year must be a leaving year like 2024-25, got {leaving_year!r}"
    refused = cfg.leaving_year_problem(leaving_year)
    if refused:
        return f"--year: {refused}, so the pipeline would not load this return"
    ids = cfg.round_ids()
    if round_id not in ids:
        return f"--round must be one of {', '.join(ids)}, got {round_id!r}"
    return None


def round_config(round_id: str):
    """The round's config (trust.yaml), None for an unknown round."""
    return next((r for r in cfg.rounds() if r.id == round_id), None)


def round_label(round_id: str, rnd=None) -> str:
    """The round's label (`rnd`: the round's config when the caller has it); its id if unknown."""
    r = rnd or round_config(round_id)
    return round_id if r is None else r.label


def due_and_late(leaving_year: str, round_id: str, submitted_at: datetime, rnd=None) -> tuple[str | None, bool]:
    """(due date, late) of the round (`rnd`: the round's config when the caller has it)."""
    r = rnd or round_config(round_id)
    if r is None:
        return None, False
    due = r.due_date(leaving_year)
    return due.isoformat(), submitted_at.date() > due


def _unreadable(exc: Exception, name: str) -> ValidationResult:
    return rejected_result([Problem(
        "file", "file_unreadable", f"the file could not be checked ({type(exc).__name__}: {str(exc)[:150]})",
        "save the file again as CSV UTF-8 or Excel workbook (.xlsx); if this persists, send it to the "
        "trust data team", file=name)])


def read_checked(data: bytes, name: str, limits=None, clean: bool = True,
                 aliases: dict[str, str] | None = None) -> ReadResult | ValidationResult:
    """Read a file's bytes; a ValidationResult (rejected) when it cannot be read. Never raises.
    `aliases`: the header aliases when the caller reads many files (else read from the config)."""
    try:
        return read_return(data, name, aliases=aliases, limits=limits, clean=clean)
    except Exception as exc:  # noqa: BLE001 - a file must never stop an upload or a run
        return _unreadable(exc, name)


def read_path_checked(path: Path, name: str, limits=None, clean: bool = True,
                      aliases: dict[str, str] | None = None) -> ReadResult | ValidationResult:
    """`read_checked` for a file on disk; a file too large to read is rejected without reading it.
    `limits`, `aliases`: the intake limits and header aliases, when the caller reads many files;
    `clean=False`: see `read_return`."""
    try:
        data = file_bytes(path, limits)
    except Refused as exc:
        return rejected_result([Problem("file", exc.rule, str(exc), exc.fix, file=name)])
    return read_checked(data, name, limits, clean, aliases)


def validate_checked(read: ReadResult | ValidationResult, ctx: ValidationContext, name: str) -> ValidationResult:
    """Validate what `read_checked` gave (a rejection passes through). Never raises."""
    if isinstance(read, ValidationResult):
        return read
    try:
        return validate_return(read, ctx, file=name)
    except Exception as exc:  # noqa: BLE001
        return _unreadable(exc, name)


def evaluate(data: bytes, name: str, ctx: ValidationContext) -> ValidationResult:
    """Read and validate: the one code path shared by `submit` and the pipeline. Never raises."""
    return validate_checked(read_checked(data, name), ctx, name)


def evaluate_path(path: Path, name: str, ctx: ValidationContext) -> ValidationResult:
    """`evaluate` for a file on disk; a file too large to read is rejected without reading it."""
    return validate_checked(read_path_checked(path, name), ctx, name)


def feedback_info(*, name: str, ctx: ValidationContext, result: ValidationResult, status: str,
                  submitted_at: datetime, submitted_by: str, sha: str, rnd=None) -> FeedbackInfo:
    """`rnd`: the round's config (`round_config`) when the caller words many files' feedback."""
    rnd = rnd or round_config(ctx.round_id)      # the round's config, looked up once
    due, late = due_and_late(ctx.leaving_year, ctx.round_id, submitted_at, rnd)
    return FeedbackInfo(
        file_name=name, academy_urn=ctx.academy_urn, academy_name=ctx.academy_name,
        leaving_year=ctx.leaving_year, round_id=ctx.round_id, round_label=round_label(ctx.round_id, rnd),
        status=status, submitted_at=store.iso(submitted_at), submitted_by=submitted_by, sha256=sha,
        rows_total=result.rows_total, rows_accepted=result.rows_accepted,
        rows_rejected=result.rows_rejected, problems=result.problems, changes=result.changes,
        due_date=due, is_late=late, notes=list(ctx.notes), counts=result.counts,
        conflicts=result.conflicts, confirmed_smaller=ctx.confirmed_smaller)


def sidecar_payload(info: FeedbackInfo, stored: Path, root: Path, resolved_root: Path | None = None,
                    rel: Callable[[Path], str] | None = None) -> dict:
    """`rel`: `store.relpath` under `root` (a `store.RelPaths` when the caller writes many)."""
    rel = rel or (lambda path: store.relpath(path, root, resolved_root))
    return {
        "sha256": info.sha256, "academy_urn": info.academy_urn, "leaving_year": info.leaving_year,
        "round": info.round_id, "original_name": info.file_name,
        "stored_path": rel(stored),
        "feedback_path": rel(store.sidecar(stored, store.FEEDBACK_HTML)),
        "submitted_at": info.submitted_at, "submitted_by": info.submitted_by, "status": info.status,
        "rows_total": info.rows_total, "rows_accepted": info.rows_accepted,
        "rows_rejected": info.rows_rejected, "errors": info.errors, "warnings": info.warnings,
        "due_date": info.due_date, "is_late": info.is_late,
        "changes": info.changes.as_dict() if info.changes else None,
        "notes": info.notes,
        "confirmed_smaller": info.confirmed_smaller,
        "problems": [p.as_dict() for p in info.problems],
        # for the trust data team only (never in the academy's report): pupils of other academies
        "conflicts": [list(c) for c in info.conflicts],
    }


def write_feedback(stored: Path, info: FeedbackInfo, root: Path, durable: bool = True,
                   resolved_root: Path | None = None) -> tuple[Path, bool]:
    """Write <file>.feedback.html/.json next to the file; only when the content changed. (html path, written).
    `durable=False` (the pipeline's load): no fsync, see `store.write_atomic`; `resolved_root`:
    root.resolve() when the caller writes many."""
    return _write_feedback(stored, info, feedback_json(info, stored, root, resolved_root), durable)


def feedback_json(info: FeedbackInfo, stored: Path, root: Path, resolved_root: Path | None = None,
                  rel: Callable[[Path], str] | None = None) -> str:
    """The text of <file>.feedback.json (what `store.read_sidecar` reads back)."""
    return json.dumps(sidecar_payload(info, stored, root, resolved_root, rel), indent=1, sort_keys=True, default=str)


def _write_feedback(stored: Path, info: FeedbackInfo, text: str, durable: bool) -> tuple[Path, bool]:
    jpath = store.sidecar(stored, store.FEEDBACK_JSON)
    hpath = store.sidecar(stored, store.FEEDBACK_HTML)
    if jpath.exists() and hpath.exists() and jpath.read_text(encoding="utf-8") == text:
        return hpath, False
    store.write_atomic(hpath, render_html(info).encode("utf-8"), durable)
    store.write_atomic(jpath, text.encode("utf-8"), durable)
    return hpath, True


class FeedbackWriter:
    """`write_feedback(durable=False)` for the files of a load: each file's feedback is worded by the caller
    (`write` returns the sidecar as `store.read_sidecar` will read it) and rendered and written on two
    threads (creating ~2,400 small files at `large` is mostly waiting on the file system), while the load
    goes on. `drain` waits for the writes so far, `close` for all, and raises the first failure. One write
    per file until drained; `rel`: a `store.RelPaths` the caller shares (else one of its own)."""

    def __init__(self, root: Path, resolved_root: Path | None = None, rel: Callable[[Path], str] | None = None,
                 workers: int = 2):
        from concurrent.futures import ThreadPoolExecutor
        self.root, self.resolved_root = root, resolved_root
        self.rel = rel or store.RelPaths(root, resolved_root)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="returns-feedback")
        self.pending: list = []

    def write(self, stored: Path, info: FeedbackInfo) -> dict:
        text = feedback_json(info, stored, self.root, self.resolved_root, self.rel)
        self.pending.append(self.pool.submit(_write_feedback, stored, info, text, False))
        return json.loads(text)

    def drain(self, check: bool = True) -> None:
        """Wait for the writes so far; `check`: raise the first failure (else the caller is failing already)."""
        from concurrent.futures import wait
        pending, self.pending = self.pending, []
        wait(pending)
        for f in pending if check else ():
            f.result()

    def close(self, check: bool = True) -> None:
        self.drain(check)
        self.pool.shutdown(wait=True)


def problems_from_payload(payload: dict) -> list[Problem]:
    return [Problem(**p) for p in payload.get("problems", [])]


def latest_in(directory: Path, academy_urn: str, leaving_year: str, round_id: str,
              statuses: tuple[str, ...]) -> tuple[Path, dict] | None:
    """Newest file in a partition folder whose sidecar status is one of `statuses`."""
    best = None
    if not directory.is_dir():
        return None
    for f in directory.iterdir():
        if not store.is_data_file(f):
            continue
        meta = store.read_sidecar(f)
        if not meta or meta.get("status") not in statuses:
            continue
        key = (meta.get("submitted_at", ""), f.name)
        if best is None or key > best[0]:
            best = (key, f, meta)
    return (best[1], best[2]) if best else None


def submit_file(file: Path, *, academy_urn: str, leaving_year: str, round_id: str,
                submitted_by: str = "cli", data_dir: Path | None = None,
                original_name: str | None = None, confirm_smaller: bool = False) -> SubmissionOutcome:
    """Validate one return and file it; see the module docstring. Raises ValueError on bad arguments."""
    problem = check_arguments(academy_urn, leaving_year, round_id)
    if problem:
        raise ValueError(problem)
    file = Path(file)
    if not file.is_file():
        raise ValueError(f"file not found: {file}")
    p = cfg.paths(data_dir)
    name = original_name or file.name
    now = store.utc_now()
    try:
        data = file_bytes(file)
    except Refused as exc:   # too large to read: refused without keeping a copy
        prob = Problem("file", exc.rule, str(exc), exc.fix, file=name)
        info = FeedbackInfo(
            file_name=name, academy_urn=academy_urn, academy_name=None, leaving_year=leaving_year,
            round_id=round_id, round_label=round_label(round_id), status="rejected",
            submitted_at=store.iso(now), submitted_by=submitted_by, sha256="", rows_total=0,
            rows_accepted=0, rows_rejected=0, problems=[prob])
        store.append_audit(p, {"event": "submit", "at": store.iso(now), "by": submitted_by,
                               "academy_urn": academy_urn, "leaving_year": leaving_year, "round": round_id,
                               "original_name": name, "bytes": file.stat().st_size, "status": "rejected",
                               "reason": exc.rule})
        return SubmissionOutcome(status="rejected", exit_code=1, problems=[prob], summary_text=summary_text(info),
                                 academy_urn=academy_urn, leaving_year=leaving_year, round_id=round_id)
    sha = store.sha256_bytes(data)
    landing = store.partition_dir(p.returns, academy_urn, leaving_year, round_id)
    quarantine = store.partition_dir(p.quarantine, academy_urn, leaving_year, round_id)

    # identical re-upload: nothing changes
    current = latest_in(landing, academy_urn, leaving_year, round_id,
                        ("accepted", "accepted_with_warnings"))
    last_rejected = latest_in(quarantine, academy_urn, leaving_year, round_id, ("rejected",))
    for found, status in ((current, "unchanged"), (last_rejected, "rejected")):
        if found and found[1].get("sha256") == sha:
            if status == "rejected" and current and current[1].get("submitted_at", "") > found[1].get("submitted_at", ""):
                continue
            return _repeat_outcome(p, found[0], found[1], status, name, submitted_by, now)

    with read_only_warehouse(p) as con:
        ctx = build_context(p, academy_urn, leaving_year, round_id, con)
    ctx.confirmed_smaller = confirm_smaller
    if current:
        ctx.current_rows = int(current[1].get("rows_accepted") or 0)
    result = evaluate(data, name, ctx)
    status = result.status
    if status == "rejected":
        stored = store.quarantine(quarantine / store.stamped_name(name, sha, now), data=data)
    else:
        stored = landing / store.stamped_name(name, sha, now)
        store.write_atomic(stored, data)
    info = feedback_info(name=name, ctx=ctx, result=result, status=status, submitted_at=now,
                         submitted_by=submitted_by, sha=sha)
    report, _ = write_feedback(stored, info, p.root)
    if status == "rejected":
        from pipelines.lib.privacy.retention import strip_to_spec
        strip_to_spec(stored)  # quarantine keeps only the return's columns
    store.append_audit(p, {
        "event": "submit", "at": store.iso(now), "by": submitted_by, "academy_urn": academy_urn,
        "leaving_year": leaving_year, "round": round_id, "original_name": name, "sha256": sha,
        "bytes": len(data), "status": status, "stored_path": store.relpath(stored, p.root),
        "feedback_path": store.relpath(report, p.root), "rows_total": result.rows_total,
        "rows_accepted": result.rows_accepted, "rows_rejected": result.rows_rejected,
        "warnings": result.warnings, "confirmed_smaller": confirm_smaller,
        "other_academy_pupils": len(result.conflicts),
    })
    return SubmissionOutcome(
        status=status, exit_code=1 if status == "rejected" else 0, problems=result.problems,
        rows_total=result.rows_total, rows_accepted=result.rows_accepted,
        rows_rejected=result.rows_rejected, warnings=result.warnings, stored_path=stored,
        report_path=report, summary_text=summary_text(info, str(report)), sha256=sha,
        academy_urn=academy_urn, leaving_year=leaving_year, round_id=round_id)


def _repeat_outcome(p: cfg.Paths, stored: Path, meta: dict, status: str, name: str,
                    submitted_by: str, now: datetime) -> SubmissionOutcome:
    problems = problems_from_payload(meta)
    report = store.sidecar(stored, store.FEEDBACK_HTML)
    info = FeedbackInfo(
        file_name=name, academy_urn=meta["academy_urn"], academy_name=None,
        leaving_year=meta["leaving_year"], round_id=meta["round"], round_label=round_label(meta["round"]),
        status=status, submitted_at=store.iso(now), submitted_by=submitted_by, sha256=meta["sha256"],
        rows_total=meta.get("rows_total", 0), rows_accepted=meta.get("rows_accepted", 0),
        rows_rejected=meta.get("rows_rejected", 0), problems=problems,
        changes=None, counts={"error": int(meta.get("errors") or 0), "warning": int(meta.get("warnings") or 0)},
        notes=[f"identical to {meta.get('original_name')} submitted {meta.get('submitted_at')}; "
               "no new copy was stored"])
    store.append_audit(p, {
        "event": "submit", "at": store.iso(now), "by": submitted_by, "academy_urn": meta["academy_urn"],
        "leaving_year": meta["leaving_year"], "round": meta["round"], "original_name": name,
        "sha256": meta["sha256"], "status": status, "stored_path": store.relpath(stored, p.root),
        "feedback_path": store.relpath(report, p.root), "duplicate_of": store.relpath(stored, p.root),
    })
    return SubmissionOutcome(
        status=status, exit_code=1 if status == "rejected" else 0, problems=problems,
        rows_total=info.rows_total, rows_accepted=info.rows_accepted, rows_rejected=info.rows_rejected,
        warnings=info.warnings, stored_path=stored, report_path=report,
        summary_text=summary_text(info, str(report)), sha256=meta["sha256"],
        academy_urn=meta["academy_urn"], leaving_year=meta["leaving_year"], round_id=meta["round"])


__all__ = ["SubmissionOutcome", "submit_file", "check_arguments", "evaluate", "Changes"]
