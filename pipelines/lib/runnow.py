"""Start `destinations run` in the background (the dashboard's Run now button): one at a time.

The run is a detached subprocess writing <data dir>/runs/<stamp>.log; <data dir>/runs/current.json
holds its pid, start time and log. A second start while that pid is alive is refused.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pipelines.config import Paths


@dataclass
class RunState:
    running: bool
    pid: int | None
    started_at: str | None
    log: Path | None
    exit_code: int | None
    started_by: str | None = None

    def tail(self, lines: int = 40) -> str:
        if not self.log or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _dir(p: Paths) -> Path:
    return p.root / "runs"


def pid_alive(pid: int) -> bool:
    """True while process `pid` runs (a zombie has finished; our own finished child is reaped)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)  # reap if it is our child
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is finished
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def state(p: Paths) -> RunState | None:
    f = _dir(p) / "current.json"
    if not f.exists():
        return None
    info = json.loads(f.read_text())
    log = Path(info["log"])
    exit_code = None
    done = log.with_suffix(".exit")
    if done.exists():
        try:
            exit_code = int(done.read_text().strip())
        except ValueError:
            exit_code = None
    running = exit_code is None and pid_alive(int(info["pid"]))
    return RunState(running, int(info["pid"]), info.get("started_at"), log, exit_code, info.get("started_by"))


def start(p: Paths, started_by: str = "", command: list[str] | None = None) -> RunState:
    """Start a run unless one is going; returns the state of the run that is going."""
    d = _dir(p)
    d.mkdir(parents=True, exist_ok=True)
    import fcntl
    with open(d / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cur = state(p)
        if cur and cur.running:
            return cur
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        log = d / f"run-{stamp}.log"
        cmd = command or [sys.executable, "-m", "pipelines.cli", "run"]
        # the shell records the exit code next to the log when the run ends
        script = " ".join(_q(c) for c in cmd) + f' > {_q(str(log))} 2>&1; echo $? > {_q(str(log.with_suffix(".exit")))}'
        env = {**os.environ, "DESTINATIONS_DATA_DIR": str(p.root)}
        proc = subprocess.Popen(["/bin/sh", "-c", script], env=env, cwd=str(Path(__file__).resolve().parents[2]),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        info = {"pid": proc.pid, "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "log": str(log), "started_by": started_by, "command": cmd}
        tmp = d / ".current.json.tmp"
        tmp.write_text(json.dumps(info))
        tmp.replace(d / "current.json")
        return RunState(True, proc.pid, info["started_at"], log, None, started_by)


def _q(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"
