"""Temporary folders that a killed process does not leave behind: each is named
<kind>-<pid>-<random> in the system's temporary folder (owner-only), and making one first removes
those of the same kind whose process is gone (SIGKILL, a power cut: nothing ran to remove them).
A folder whose process still runs is never touched (a pid reused since is only a delay)."""
from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from pipelines.lib.runnow import pid_alive

SOCKET_PATH_MAX = 107   # bytes of an AF_UNIX socket's path (Linux: 108 with its NUL)


def folder(kind: str) -> Path:
    """A new folder of this process; removing it is the caller's (`scratch` does)."""
    root = Path(tempfile.gettempdir())
    sweep(root, kind)
    return Path(tempfile.mkdtemp(prefix=f"{kind}-{os.getpid()}-", dir=root))


def sweep(root: Path, kind: str) -> list[Path]:
    """Remove the folders (or files) <kind>-<pid>-* under `root` whose process is gone; those removed."""
    gone = []
    for path in root.glob(f"{kind}-*-*"):
        pid = path.name[len(kind) + 1:].split("-", 1)[0]
        if not pid.isdigit() or len(pid) > 9 or pid_alive(int(pid)):   # another kind (disclosure-public-...), or alive
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
        gone.append(path)
    return gone


@contextlib.contextmanager
def scratch(kind: str) -> Iterator[Path]:
    """A folder of this process for the block, removed after it (by the next of its kind if killed)."""
    path = folder(kind)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def forkserver_context():
    """multiprocessing's forkserver context for a worker pool, its temporary folder (the forkserver's
    socket; by itself an unnamed pymp-*, left by a killed process) made a folder of this process:
    removed at exit, or by the next process to make one if this one is killed."""
    import multiprocessing
    from multiprocessing import process
    config = process.current_process()._config   # where multiprocessing.util.get_temp_dir keeps it
    if config.get("tempdir") is None:
        path = folder("pymp")
        if len(os.fsencode(path)) + len("/listener-12345678") > SOCKET_PATH_MAX:
            path.rmdir()   # the forkserver's socket would not fit: multiprocessing's own (shorter) folder
        else:
            atexit.register(shutil.rmtree, path, ignore_errors=True)
            config["tempdir"] = str(path)
    return multiprocessing.get_context("forkserver")
