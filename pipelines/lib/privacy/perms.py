"""Everything the product writes in the data directory is readable by the service user only.

`secure_process()` is called once at every entry point (CLI main, Dagster definitions load,
Streamlit start): umask 077 makes every new file 0600 and every new folder 0700.
`tighten(root)` fixes what was written before (or by another tool) and is idempotent.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from pipelines.lib.walk import walk

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

    Every `destinations` command walks the whole data directory (about 15,000 entries for a
    96-academy trust) with the one walker (pipelines.lib.walk): it must cost milliseconds.
    Links are left alone and never followed."""
    root = Path(root)
    if not root.exists():
        return 0
    changed = int(_chmod(root, 0o700))
    for entry, st in walk(str(root), follow_symlinks=False, on_error=lambda exc: None, ordered=False):
        if stat.S_ISLNK(st.st_mode):
            continue
        mode = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
        if stat.S_IMODE(st.st_mode) != mode:       # a folder is fixed before the walk enters it
            try:
                os.chmod(entry.path, mode)
                changed += 1
            except OSError:
                pass
    return changed


def loose_paths(root: Path) -> list[str]:
    """Paths under root that group or others can read, write or enter (should be empty)."""
    root = Path(root)
    out = [f"{oct(stat.S_IMODE(st.st_mode))} {os.path.relpath(e.path, root)}"
           for e, st in walk(str(root), follow_symlinks=False, ordered=False)
           if not stat.S_ISLNK(st.st_mode) and stat.S_IMODE(st.st_mode) & 0o077]
    st = root.stat()
    if stat.S_IMODE(st.st_mode) & 0o077:
        out.insert(0, f"{oct(stat.S_IMODE(st.st_mode))} .")
    return out
