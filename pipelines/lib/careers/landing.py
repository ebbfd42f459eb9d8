"""Land FSQ and Compass files: validate, write feedback, quarantine rejects, load the rest.

Each accepted file replaces only its own rows (`source_file`; FSQ: its `file_id`); all the files
of a run are loaded in one transaction (one bulk insert), so a failure loses nothing; a rejected
file leaves what was loaded from it before untouched. Feedback files are rewritten only when they change.
Unchanged files (same bytes, same construct mapping, accepted before) are not re-read.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from pipelines.config import Paths
from pipelines.lib.careers import feedback
from pipelines.lib.careers.compass import validate_compass_batch
from pipelines.lib.careers.fsq import validate_fsq_batch
from pipelines.lib.careers.fsq_config import FsqConfig, config_path, load_fsq_config
from pipelines.lib.careers.results import FileResult, file_problem
from pipelines.lib.intake.guard import Limits, Refused, check_size
from pipelines.lib.intake.store import quarantine, sidecar
from pipelines.lib.runstate import file_digest
from pipelines.lib.warehouse import replace_table

# FSQ answers are stored one row per answer with a small file key, and the file's own columns once
# in raw.fsq_files (a 64-character SHA-256 and a path on each of millions of rows made the insert
# ~40% dearer). raw.fsq_responses is the view of both with the columns of the old single table.
FSQ_FILES_DDL = """
create table if not exists raw.fsq_files (
    file_id integer not null,         -- key of the file's rows in raw.fsq_answers
    source_file varchar not null,     -- one row per file
    academy_urn varchar not null,     -- folder URN
    academic_year varchar not null,   -- YYYY-YY, folder of the export
    file_sha256 varchar not null,
    file_modified_at timestamp not null
)"""
FSQ_ANSWERS_DDL = """
create table if not exists raw.fsq_answers (
    file_id integer not null,         -- raw.fsq_files
    survey_date date not null,
    survey_round varchar not null,    -- autumn | spring | summer (term of survey_date)
    upn varchar not null,
    upn_is_temporary boolean not null,
    year_group integer not null,      -- 7..13
    item_id varchar not null,
    construct varchar,                -- null: item not in config/fsq_constructs.yaml (reported)
    response varchar,                 -- scale label; null = not answered
    response_score integer,           -- scale code
    is_positive boolean,              -- null when not answered
    source_row integer not null
)"""
FSQ_ANSWER_COLUMNS = ["file_id", "survey_date", "survey_round", "upn", "upn_is_temporary", "year_group", "item_id",
                      "construct", "response", "response_score", "is_positive", "source_row"]
FSQ_VIEW = """
create view if not exists raw.fsq_responses as
select f.academy_urn, f.academic_year, a.survey_date, a.survey_round, a.upn, a.upn_is_temporary, a.year_group,
       a.item_id, a.construct, a.response, a.response_score, a.is_positive, f.source_file, f.file_sha256,
       a.source_row, f.file_modified_at
from raw.fsq_answers as a join raw.fsq_files as f using (file_id)"""
# Storage tables whose rows a view presents whole (subject access lists the view, once).
SHOWN_BY_VIEW = {"raw.fsq_answers": "raw.fsq_responses"}
COMPASS_DDL = """
create table if not exists raw.compass_evaluations (
    academy_urn varchar not null,
    evaluation_date date not null,
    academic_year varchar not null,
    term varchar not null,            -- autumn | spring | summer
    framework_version varchar not null,  -- 2018 | 2025
    benchmark integer not null,       -- 1..8
    criterion varchar,                -- null: benchmark-level row
    criterion_status varchar,
    percent_achieved double not null, -- 0..100
    source_file varchar not null,
    file_sha256 varchar not null,
    source_row integer not null,
    file_modified_at timestamp not null
)"""
FILES_DDL = """
create table if not exists raw.careers_files (
    kind varchar not null,            -- fsq | compass
    source_file varchar not null,
    academy_urn varchar,
    academic_year varchar,
    file_sha256 varchar not null,
    config_sha256 varchar not null,
    status varchar not null,          -- accepted | accepted_with_problems | rejected
    rows_total integer not null,
    rows_loaded integer not null,
    file_problems integer not null,
    errors integer not null,
    warnings integer not null,
    feedback_file varchar,
    checked_at timestamp not null
)"""


def ensure_careers_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    upgrade_fsq_table(con)
    for ddl in (FSQ_FILES_DDL, FSQ_ANSWERS_DDL, FSQ_VIEW, COMPASS_DDL, FILES_DDL):
        con.execute(ddl)


def upgrade_fsq_table(con: duckdb.DuckDBPyConnection) -> bool:
    """A warehouse whose raw.fsq_responses is still the one table of earlier versions (every file
    column on every answer): move its rows to raw.fsq_files + raw.fsq_answers, in one transaction,
    and put the view in its place. True when it upgraded."""
    found = con.execute("select table_type from information_schema.tables where table_schema = 'raw' "
                        "and table_name = 'fsq_responses'").fetchone()
    if not found or found[0] != "BASE TABLE":
        return False
    con.execute("begin transaction")
    try:
        for ddl in (FSQ_FILES_DDL, FSQ_ANSWERS_DDL):
            con.execute(ddl)
        # a file's rows were always written together, so its columns have one value per file
        con.execute("""
            insert into raw.fsq_files
            select cast(row_number() over (order by source_file) as integer), source_file, min(academy_urn),
                   min(academic_year), min(file_sha256), max(file_modified_at)
            from raw.fsq_responses group by source_file""")
        cols = ", ".join(f"a.{c}" if c != "file_id" else "f.file_id" for c in FSQ_ANSWER_COLUMNS)
        con.execute(f"insert into raw.fsq_answers select {cols} from raw.fsq_responses as a "
                    "join raw.fsq_files as f using (source_file)")
        con.execute("drop table raw.fsq_responses")
        con.execute(FSQ_VIEW)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return True


def config_tables(conf: FsqConfig) -> tuple[pl.DataFrame, pl.DataFrame]:
    """raw.fsq_items and raw.fsq_readiness_bands from the mapping."""
    items = pl.DataFrame([{
        "item_id": i, "construct": s["construct"],
        "construct_label": conf.constructs[s["construct"]].get("label", s["construct"]),
        "construct_group": conf.constructs[s["construct"]].get("group", ""),
        "in_readiness_score": bool(conf.constructs[s["construct"]].get("in_readiness_score", False)),
        "item_text": s.get("text", "")} for i, s in conf.items.items()])
    bands = pl.DataFrame([{"band": str(b["band"]), "band_order": k, "min_pct": float(b["min_pct"]),
                           "max_pct": float(b["max_pct"])} for k, b in enumerate(conf.bands, start=1)],
                         schema={"band": pl.Utf8, "band_order": pl.Int32, "min_pct": pl.Float64,
                                 "max_pct": pl.Float64})
    return items, bands


def known_urns(paths: Paths) -> set[str] | None:
    """URNs in the academy register, or None when there is no readable register."""
    from pipelines.lib.register import read_register
    try:
        return set(read_register(paths.academies_csv)["urn"].cast(pl.Utf8).to_list())
    except Exception:  # noqa: BLE001 - no register: the folder check is skipped
        return None


def _discover(root: Path, depth: int) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith((".", "~$")))


def _write_if_changed(path: Path, text: str) -> None:
    """Write `text` unless the file already says the same (ignoring its 'Checked <time>' line)."""
    try:
        old = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        old = None
    if old is not None and _without_checked(old) == _without_checked(text):
        return
    path.write_text(text, encoding="utf-8")


def _without_checked(text: str) -> str:
    return "\n".join(ln for ln in text.split("\n") if not ln.startswith("Checked "))


def _write_feedback(paths: Paths, res: FileResult, rel: str, limits: Limits) -> str:
    """feedback/<rel>.feedback.{txt,html}; rejected files also go to quarantine/<rel> with it.

    Files are rewritten only when what they say changes (not for a new check time alone)."""
    base = paths.feedback / (rel[len("raw/"):] if rel.startswith("raw/") else rel)
    base.parent.mkdir(parents=True, exist_ok=True)
    txt, page = feedback.render_text(res), feedback.render_html(res)
    _write_if_changed(sidecar(base, ".feedback.txt"), txt)
    _write_if_changed(sidecar(base, ".feedback.html"), page)
    if res.rejected:
        q = paths.quarantine / (rel[len("raw/"):] if rel.startswith("raw/") else rel)
        q.parent.mkdir(parents=True, exist_ok=True)
        src = paths.root / rel
        too_big = src.stat().st_size > limits.max_file_bytes   # reported, not copied
        if not too_big and not (q.exists() and q.stat().st_size == src.stat().st_size
                                and q.read_bytes() == src.read_bytes()):
            quarantine(q, data=src.read_bytes())  # the original stays in the landing zone, re-checked each run
        _write_if_changed(sidecar(q, ".feedback.txt"), txt)
        _write_if_changed(sidecar(q, ".feedback.html"), page)
    return str(sidecar(base, ".feedback.html").relative_to(paths.root))


def summary(kind: str, results: list[FileResult]) -> str:
    """One line for a run's files: how many were checked, by status, and the rows loaded."""
    by = Counter(r.status for r in results)
    statuses = ", ".join(f"{n:,} {status}" for status, n in sorted(by.items()))
    return (f"{kind}: {len(results):,} file(s) checked" + (f" ({statuses})" if statuses else "")
            + f"; {sum(r.rows_loaded for r in results):,} rows loaded")


FILE_ROW_SCHEMA = {
    "kind": pl.Utf8, "source_file": pl.Utf8, "academy_urn": pl.Utf8, "academic_year": pl.Utf8,
    "file_sha256": pl.Utf8, "config_sha256": pl.Utf8, "status": pl.Utf8, "rows_total": pl.Int64,
    "rows_loaded": pl.Int64, "file_problems": pl.Int64, "errors": pl.Int64, "warnings": pl.Int64,
    "feedback_file": pl.Utf8, "checked_at": pl.Datetime("us")}


def _file_row(res: FileResult, rel: str, config_sha: str, fb: str) -> dict:
    """The file's row in raw.careers_files (the rows of a run become one frame: `FILE_ROW_SCHEMA`)."""
    c = res.counts()
    return {
        "kind": res.kind, "source_file": rel, "academy_urn": res.academy_urn, "academic_year": res.academic_year,
        "file_sha256": res.sha256, "config_sha256": config_sha, "status": res.status,
        "rows_total": res.rows_total, "rows_loaded": res.rows_loaded, "file_problems": c["file"],
        "errors": c["error"], "warnings": c["warning"], "feedback_file": fb,
        "checked_at": datetime.now(timezone.utc).replace(tzinfo=None)}


class _Loader:
    """Loads checked files into `table` inside one transaction, chunk by chunk as they are checked.

    Each accepted file's rows replace its earlier rows (a delete and a bulk insert per chunk of
    files); a rejected file's earlier rows stay. A chunk is inserted on one worker thread while the
    next chunk is read and checked (polars and DuckDB both release the GIL), so on two cores the
    insert costs little wall time; memory holds at most two chunks. `finish` writes every checked
    file's row in raw.careers_files and commits; any failure rolls everything back, so nothing
    already loaded is lost."""

    def __init__(self, con: duckdb.DuckDBPyConnection, kind: str, table: str):
        from concurrent.futures import ThreadPoolExecutor

        self.con, self.kind, self.table = con, kind, table
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="careers-insert")
        self.pending = None
        # FSQ: source_file -> file_id of the files loaded before (a reloaded file keeps its key)
        self.ids = (dict(con.execute("select source_file, file_id from raw.fsq_files").fetchall())
                    if kind == "fsq" else {})
        self.next_id = max(self.ids.values(), default=0) + 1
        # one bulk insert (measured on the large trust's answers, CPU per 1 M rows): DuckDB's parallel
        # insert costs ~2x a single thread's; with a path and a SHA-256 on every row, plain large strings
        # converted faster than polars' string views (FSQ answers no longer carry them: see _insert);
        # dictionary compression alone writes the same bytes as the automatic choice for 2/3 of the CPU
        self.threads = con.execute("select current_setting('threads')").fetchone()[0]
        con.execute("set threads = 1")
        con.execute("set force_compression = 'dictionary'")
        con.execute("begin transaction")

    def rows(self, results: list[FileResult], mtimes: dict[str, datetime]) -> None:
        """Queue the rows of the accepted files among `results` (then dropped from the results)."""
        loads = [res for res in results if not res.rejected and res.rows is not None and res.rows.height]
        job = None
        if loads:
            # each row's file, added once to all the files' rows (not file by file)
            which = pl.Series(range(len(loads)), dtype=pl.Int32).repeat_by(
                pl.Series([res.rows.height for res in loads], dtype=pl.UInt32)).explode()
            if self.kind == "fsq":
                ids = [self._file_id(res.file) for res in loads]
                files = pl.DataFrame({
                    "file_id": ids, "source_file": [res.file for res in loads],
                    "academy_urn": [res.academy_urn for res in loads],
                    "academic_year": [res.academic_year for res in loads],
                    "file_sha256": [res.sha256 for res in loads],
                    "file_modified_at": [mtimes[res.file] for res in loads]},
                    schema_overrides={"file_id": pl.Int32, "file_modified_at": pl.Datetime("us")})
                answers = pl.concat([res.rows.select(FSQ_ANSWER_COLUMNS[1:]) for res in loads], how="vertical_relaxed")
                job = (self._insert, answers.with_columns(
                    file_id=pl.Series(ids, dtype=pl.Int32).gather(which)).select(FSQ_ANSWER_COLUMNS), files)
            else:
                job = (self._insert, pl.concat([res.rows for res in loads], how="vertical_relaxed").with_columns(
                    source_file=pl.Series([res.file for res in loads], dtype=pl.Utf8).gather(which),
                    file_modified_at=pl.Series([mtimes[res.file] for res in loads],
                                               dtype=pl.Datetime("us")).gather(which)))
        for res in results:
            res.rows = None
        self._wait()
        if job is not None:
            self.pending = self.pool.submit(*job)

    def _file_id(self, source_file: str) -> int:
        """The file's key in raw.fsq_files: its earlier key when it was loaded before, else a new one."""
        if source_file not in self.ids:
            self.ids[source_file], self.next_id = self.next_id, self.next_id + 1
        return self.ids[source_file]

    def _insert(self, incoming: pl.DataFrame, files: pl.DataFrame | None = None) -> None:
        """Replace the loaded files' earlier rows with `incoming`. FSQ (`files` given): the files' rows
        in raw.fsq_files and their answers (`incoming`, keyed by file_id) in raw.fsq_answers."""
        con = self.con
        try:
            if files is None:
                con.register("_loaded_files", incoming.select(pl.col("source_file").unique()).to_arrow())
                con.execute(f"delete from {self.table} where source_file in (select source_file from _loaded_files)")
                table = self.table
            else:
                con.register("_loaded_files", files.to_arrow())
                con.execute("delete from raw.fsq_answers where file_id in (select file_id from _loaded_files)")
                con.execute("delete from raw.fsq_files where file_id in (select file_id from _loaded_files)")
                cols = ", ".join(files.columns)
                con.execute(f"insert into raw.fsq_files ({cols}) select {cols} from _loaded_files")
                table = "raw.fsq_answers"
            # FSQ answers (short strings only, since the file columns left them) go over as polars'
            # string views: 7% less CPU than large strings on the large trust's answers
            compat = pl.CompatLevel.oldest() if files is None else pl.CompatLevel.newest()
            con.register("_incoming", incoming.to_arrow(compat_level=compat))
            cols = ", ".join(incoming.columns)
            con.execute(f"insert into {table} ({cols}) select {cols} from _incoming")
        finally:
            for view in ("_loaded_files", "_incoming"):
                try:
                    con.unregister(view)
                except Exception:  # noqa: BLE001
                    pass

    def _wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def finish(self, file_rows: list[dict]) -> None:
        self._wait()
        if file_rows:
            files = pl.DataFrame(file_rows, schema=FILE_ROW_SCHEMA)
            self.con.register("_files", files.to_arrow())
            try:
                self.con.execute("delete from raw.careers_files where kind = ? and source_file in "
                                 "(select source_file from _files)", [self.kind])
                cols = ", ".join(files.columns)
                self.con.execute(f"insert into raw.careers_files ({cols}) select {cols} from _files")
            finally:
                self.con.unregister("_files")
        self.con.execute("commit")

    def abort(self) -> None:
        try:
            self._wait()
        except Exception:  # noqa: BLE001 - the first failure is the one raised
            pass
        self.con.execute("rollback")

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.con.execute(f"set threads = {int(self.threads)}")
        self.con.execute("reset force_compression")


def land(kind: str, paths: Paths, con: duckdb.DuckDBPyConnection, conf: FsqConfig | None = None,
         today: date | None = None, log=None) -> list[FileResult]:
    """Validate and load every file under raw/fsq (kind='fsq') or raw/compass (kind='compass').

    Files are found and hashed first (streamed: unchanged files are never read into memory; the hash
    comes from the run's digest cache when `destinations run` has just hashed the file), then read and
    checked in chunks (`validate_*_batch`), each chunk loaded as soon as it is checked. `log` gets one
    line per rejected file and a summary (not a line per file: a Dagster log event costs ~1 ms)."""
    ensure_careers_tables(con)
    conf = conf or load_fsq_config()
    limits = Limits.from_config()
    config_sha = hashlib.sha256(config_path().read_bytes()).hexdigest()[:16] if kind == "fsq" else "-"
    root = paths.fsq if kind == "fsq" else paths.compass
    table = "raw.fsq_responses" if kind == "fsq" else "raw.compass_evaluations"
    depth = 3 if kind == "fsq" else 2
    urns = known_urns(paths)
    cache_dir = paths.warehouse_dir if paths.warehouse_dir.is_dir() else None
    seen = {(r[0], r[1]): r[2] for r in con.execute(
        "select source_file, file_sha256 || '/' || config_sha256, status from raw.careers_files where kind = ?",
        [kind]).fetchall()}
    todo, results, mtimes = [], [], {}
    for path in _discover(root, depth):
        rel = str(path.relative_to(paths.root))
        parts = path.relative_to(root).parts
        st = path.stat()
        try:
            check_size(st.st_size, limits)
        except Refused as exc:   # too large to read: reported, never read into memory
            res = FileResult(kind, rel, parts[0] if len(parts) > 1 else "", None, file_digest(path, cache_dir, st))
            res.problems.append(file_problem(rel, exc.rule, str(exc), exc.fix))
            results.append(res)
            continue
        sha = file_digest(path, cache_dir, st)
        if seen.get((rel, f"{sha}/{config_sha}"), "rejected") != "rejected":
            continue  # unchanged since it was accepted
        mtimes[rel] = datetime.fromtimestamp(st.st_mtime, timezone.utc).replace(tzinfo=None)
        if len(parts) == depth:
            todo.append((path, rel, parts, sha))
            continue
        where = "raw/fsq/<URN>/<YYYY-YY>/<file>" if kind == "fsq" else "raw/compass/<URN>/<file>"
        res = FileResult(kind, rel, parts[0] if len(parts) > 1 else "", None, sha)
        res.problems.append(file_problem(rel, "misfiled", f"the file is not in a folder {where}, so it "
                                         "cannot be matched to an academy", f"move it to {where}"))
        results.append(res)
    loader = _Loader(con, kind, table)
    try:
        # each file's bytes are read only when its turn comes (a chunk at a time)
        if kind == "fsq":
            results += validate_fsq_batch(((path.read_bytes(), rel, parts[0], parts[1], sha)
                                           for path, rel, parts, sha in todo),
                                          urns, conf, today, on_checked=lambda rs: loader.rows(rs, mtimes),
                                          limits=limits)
        else:
            results += validate_compass_batch(((path.read_bytes(), rel, parts[0], sha) for path, rel, parts, sha in todo),
                                              urns, today, on_checked=lambda rs: loader.rows(rs, mtimes),
                                              limits=limits)
        file_rows = []
        for res in results:
            fb = _write_feedback(paths, res, res.file, limits)
            file_rows.append(_file_row(res, res.file, config_sha, fb))
            if log and res.rejected:
                log(f"{res.status}: {res.file} ({res.rows_loaded}/{res.rows_total} rows)")
        loader.finish(file_rows)
        if log:
            log(summary(kind, results))
    except BaseException:
        loader.abort()
        raise
    finally:
        loader.close()
    if kind == "fsq":
        items, bands = config_tables(conf)
        replace_table(con, "raw.fsq_items", items)
        replace_table(con, "raw.fsq_readiness_bands", bands)
    return results
