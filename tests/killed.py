"""A process killed with SIGKILL at a chosen moment (what a power cut or `kill -9` leaves), for the
tests of what the next process removes (pipelines/lib/scratch.py)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[1])


def short_temp(request) -> Path:
    """A temporary folder for the child's TMPDIR, short enough for a forkserver's socket path
    (AF_UNIX: 107 bytes; pytest's own folders under xdist are too long), removed after the test."""
    temp = Path(tempfile.mkdtemp(prefix="t-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(temp, ignore_errors=True))
    return temp


def kill_when(script: str, env: dict, ready: str, temp: Path, what: str, patience: float = 300,
              settle: float = 0.5) -> int:
    """Run `script` (python -c, its own process group), wait until temp holds a path matching
    `ready` (a glob; {pid} is the child's), SIGKILL the whole group; the killed pid."""
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + patience
    while not list(temp.glob(ready.format(pid=proc.pid))) and time.monotonic() < deadline:
        assert proc.poll() is None, f"{what} ended before it could be killed"
        time.sleep(0.02)
    time.sleep(settle)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return proc.pid
