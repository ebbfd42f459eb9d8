"""Everything the product writes in the data directory is readable by the service user only.

`secure_process()` is called once at every entry point (CLI main, Dagster definitions load,
Streamlit start): umask 077 makes every new file 0600 and every new folder 0700.
`tighten(root)` fixes what was written before (or by another tool) and is idempotent.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

UMASK = 0o077


def secure_process(data_dir: Path | None = None, tighten_tree: bool = False) -> None:
    """umask 077 for this process; the data directory 0700 (and with tighten_tree, everything
    already in it owner-only: files written before this release or copied in by hand)."""
    os.umask(UMASK)
    if data_dir is None:
        from pipelines.config import data_dir as _dd
        data_dir = _dd()
    try:
        root = Path(data_dir)
        if root.is_dir():
            _chmod(root, 0o700)
            if tighten_tree:
                tighten(root)
    except OSError:
        pass


def _chmod(p: Path, mode: int) -> bool:
    try:
        st = p.lstat()
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(st.st_mode) or stat.S_IMODE(st.st_mode) == mode:
        return False
    try:
        os.chmod(p, mode)
        return True
    except OSError:
        return False


def tighten(root: Path) -> int:
    """chmod 0700 folders and 0600 files under root (owner only). Returns how many changed.

    os.scandir and plain strings: every `destinations` command walks the whole data directory
    (about 15,000 entries for a 96-academy trust), so the walk must cost milliseconds, not seconds."""
    root = Path(root)
    if not root.exists():
        return 0
    changed = int(_chmod(root, 0o700))
    todo = [str(root)]
    while todo:
        try:
            it = os.scandir(todo.pop())
        except OSError:
            continue
        with it:
            for entry in it:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISLNK(st.st_mode):
                    continue
                is_dir = stat.S_ISDIR(st.st_mode)
                mode = 0o700 if is_dir else 0o600
                if stat.S_IMODE(st.st_mode) != mode:
                    try:
                        os.chmod(entry.path, mode)
                        changed += 1
                    except OSError:
                        pass
                if is_dir:
                    todo.append(entry.path)
    return changed


def loose_paths(root: Path) -> list[str]:
    """Paths under root that group or others can read, write or enter (should be empty)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            p = Path(dirpath) / name
            st = p.lstat()
            if not stat.S_ISLNK(st.st_mode) and stat.S_IMODE(st.st_mode) & 0o077:
                out.append(f"{oct(stat.S_IMODE(st.st_mode))} {p.relative_to(root)}")
    st = Path(root).stat()
    if stat.S_IMODE(st.st_mode) & 0o077:
        out.insert(0, f"{oct(stat.S_IMODE(st.st_mode))} .")
    return out
