"""The one directory walker: what changed (runstate) and who may read it (privacy.perms) walk the
data directory with it. os.scandir and plain strings: a national landing zone has ~60,000 files
and every `destinations` command walks it, so a walk costs milliseconds per thousand entries."""
from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator


def entries(path: str, ordered: bool = True) -> list[os.DirEntry]:
    """A folder's entries (in name order unless ordered=False); [] when it is missing or not a folder."""
    try:
        with os.scandir(path) as it:
            return sorted(it, key=_name) if ordered else list(it)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _name(e: os.DirEntry) -> str:
    return e.name


def subdirs(path: str) -> list[os.DirEntry]:
    return [e for e in entries(path) if e.is_dir()]


def walk(root: str, prune: Callable[[os.DirEntry], bool] | None = None, follow_symlinks: bool = True,
         on_error: Callable[[OSError], None] | None = None,
         ordered: bool = True) -> Iterator[tuple[os.DirEntry, os.stat_result]]:
    """(entry, stat) of everything under root, depth first (in name order unless ordered=False:
    a digest needs the order, a chmod does not); a folder comes before
    its contents (so a caller may fix its mode before it is entered). `prune(entry)` leaves an
    entry and everything under it out. With follow_symlinks=False a link is yielded with its own
    lstat and never entered. An entry that vanishes is skipped; a folder that cannot be listed
    raises, or goes to `on_error` and is skipped."""
    def listing(path: str) -> Iterator[os.DirEntry]:
        try:
            return iter(entries(path, ordered))
        except OSError as exc:
            if on_error is None:
                raise
            on_error(exc)
            return iter(())

    stack = [listing(root)]          # one iterator per open folder: no generator per level
    while stack:
        for e in stack[-1]:
            if prune is not None and prune(e):
                continue
            try:
                st = e.stat(follow_symlinks=follow_symlinks)
            except FileNotFoundError:
                continue
            yield e, st
            if stat.S_ISDIR(st.st_mode):
                stack.append(listing(e.path))
                break
        else:
            stack.pop()
