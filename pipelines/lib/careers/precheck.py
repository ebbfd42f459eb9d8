"""Check a run's FSQ and Compass files in a second process while `destinations run` ingests returns
and loads its definitions (two cores: the checks no longer wait for them, nor they for the checks).

The second process does what `landing.land` does before the insert, with the same functions:
find, read and check each kind's files (`landing.find`, `landing.check`), write their feedback
and quarantine copies (`landing.write_feedback`), and leave each checked chunk's rows in a staging
folder (Arrow IPC, lz4). This process stays the one DuckDB writer: `Precheck.load` inserts the
staged chunks and the files' raw.careers_files rows in one transaction per kind (`landing._Loader`),
so the raw tables and feedback are exactly what `land` gives. The build's own ingest steps then
find these files checked (only rejected ones are read again, as on every run).

Memory: each process holds one chunk of rows at a time; the staging folder holds at most
`staged_chunks()` chunks not yet inserted (the checking process waits for a free one), so a
national trust's answers are never all on disk or in memory at once.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_mod
import shutil
from pathlib import Path
from typing import Callable

KINDS = ("compass", "fsq")          # checked in this order (Compass is small: its load starts first)
STAGING_PREFIX = ".careers-staging-"
ENV_SWITCH = "DESTINATIONS_CAREERS_PRECHECK"          # "0": the build's own steps check the files
ENV_CHUNKS = "DESTINATIONS_CAREERS_STAGED_CHUNKS"


def enabled() -> bool:
    """Off with DESTINATIONS_CAREERS_PRECHECK=0 (the build's ingest steps then check every file)."""
    return os.environ.get(ENV_SWITCH, "1").strip() not in ("0", "false", "no", "off")


def staged_chunks() -> int:
    """Checked chunks (of up to 1 M rows each) staged on disk and not yet inserted, at most
    (DESTINATIONS_CAREERS_STAGED_CHUNKS, default 16: all of a `large` trust's 7.4 M answers)."""
    from pipelines.config import env_whole_number
    what = "chunks, at least 1 (unset it for the default, 16)"
    n = env_whole_number(ENV_CHUNKS, what)
    if n is None:
        return 16
    if n < 1:
        raise ValueError(f"{ENV_CHUNKS}={n}: expected a whole number of {what}")
    return n


def clear_staging(warehouse_dir: Path) -> None:
    """Remove staging folders a killed run left."""
    if warehouse_dir.is_dir():
        for d in warehouse_dir.glob(STAGING_PREFIX + "*"):
            shutil.rmtree(d, ignore_errors=True)


def _check_all(root: str, kinds: list[str], seen: dict, stage: str, out, slots) -> None:
    """The second process: each kind's files found, checked, fed back and staged; one message per
    staged chunk ("rows", kind, file), one per kind when done ("done", kind, careers_files rows,
    log lines), or ("failed", kind, why) and stop."""
    from pipelines.config import paths
    from pipelines.lib.privacy.perms import secure_process
    kind = kinds[0]
    try:
        secure_process(Path(root))        # feedback and quarantine files: owner only, as in the build
        from pipelines.lib.careers import landing
        p = paths(Path(root))
        for kind in kinds:
            found = landing.find(kind, p, seen[kind])
            count = [0]

            def stage_rows(results, found=found, kind=kind, count=count) -> None:
                frame = landing.rows_frame(results, found.mtimes)
                if frame is None:
                    return
                slots.acquire()                   # wait while the writer is `staged_chunks()` behind
                f = Path(stage) / f"{kind}-{count[0]:05d}.arrow"
                count[0] += 1
                frame.write_ipc(f, compression="uncompressed")
                out.put(("rows", kind, str(f)))

            results = landing.check(found, stage_rows)
            lines: list[str] = []
            file_rows = landing.write_feedback(p, found, results, log=lines.append)
            out.put(("done", kind, file_rows, lines))
    except BaseException as exc:  # noqa: BLE001 - reported to the writer, which lands nothing of this kind
        out.put(("failed", kind, f"{type(exc).__name__}: {exc}"))


class Precheck:
    """The checking process of one run (`start`), and the insert of what it staged (`load`)."""

    def __init__(self, root: Path, warehouse_dir: Path, kinds: list[str], seen: dict):
        self.kinds = [k for k in KINDS if k in kinds]
        self.stage = warehouse_dir / f"{STAGING_PREFIX}{os.getpid()}"
        self.stage.mkdir(parents=True, exist_ok=True)
        ctx = mp.get_context("spawn")     # not fork: this process may already run polars/DuckDB threads
        self.out = ctx.Queue()
        self.slots = ctx.Semaphore(staged_chunks())
        self.proc = ctx.Process(target=_check_all, name="careers-precheck", daemon=True,
                                args=(str(root), self.kinds, seen, str(self.stage), self.out, self.slots))
        self.proc.start()

    def _next(self):
        """The next message; a process that died without saying why is a failure too."""
        while True:
            try:
                return self.out.get(timeout=1.0)
            except queue_mod.Empty:
                if not self.proc.is_alive():
                    try:
                        return self.out.get(timeout=1.0)
                    except queue_mod.Empty:
                        return ("failed", "", f"the checking process ended (exit code {self.proc.exitcode})")

    def load(self, con, log: Callable[[str], None] | None = None) -> list[str]:
        """Insert every kind's staged rows and file rows (one transaction per kind); the kinds landed.
        A failed kind lands nothing (its files stay unchecked in raw.careers_files, so the build's
        ingest step checks them); its reason goes to `log`."""
        import polars as pl

        from pipelines.lib.careers import landing
        from pipelines.lib.careers.fsq_config import load_fsq_config
        landing.ensure_careers_tables(con)
        landed: list[str] = []
        try:
            for kind in self.kinds:
                loader = landing._Loader(con, kind, "raw.fsq_responses" if kind == "fsq" else "raw.compass_evaluations")
                try:
                    while True:
                        msg = self._next()
                        if msg[0] == "rows":
                            loader.frame(pl.read_ipc(msg[2]))
                            loader._wait()
                            os.unlink(msg[2])
                            self.slots.release()
                        elif msg[0] == "done":
                            loader.finish(msg[2])
                            for line in msg[3] if log else ():
                                log(line)
                            break
                        else:
                            raise RuntimeError(msg[2])
                except BaseException as exc:
                    loader.abort()
                    if log:
                        log(f"{kind}: checking ahead failed ({exc}); the build's ingest step checks the files")
                    return landed
                finally:
                    loader.close()
                if kind == "fsq":
                    landing.load_config_tables(con, load_fsq_config())
                landed.append(kind)
            return landed
        finally:
            self.close()

    def close(self) -> None:
        """Stop the checking process (if still running) and remove the staging folder."""
        if self.proc.is_alive():
            self.proc.terminate()
        self.proc.join(timeout=10)
        self.out.close()
        shutil.rmtree(self.stage, ignore_errors=True)
