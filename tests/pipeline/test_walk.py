"""The one directory walker (pipelines.lib.walk) as its two users see it: change detection
(runstate) walks in name order, follows linked folders and leaves hidden and build folders out;
permissions (privacy.perms) fix a folder before entering it and never touch what a link points at."""
import os
import stat

from pipelines.lib import runstate
from pipelines.lib.privacy import perms
from pipelines.lib.walk import walk


def _tree(tmp_path):
    root = tmp_path / "raw"
    for rel in ("b/2.csv", "b/1.csv", "a.csv", ".hidden/x.csv", "c/target/t.csv", "c/.dot.csv", "c/z.csv"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    outside = tmp_path / "share"
    outside.mkdir()
    (outside / "fsq.csv").write_text("linked")
    os.symlink(outside, root / "linked")
    return root, outside


def test_change_detection_walks_in_name_order_and_follows_links(tmp_path):
    root, _ = _tree(tmp_path)
    got = [os.path.relpath(p, root) for p, _ in runstate._files(str(root))]
    assert got == ["a.csv", "b/1.csv", "b/2.csv", "c/z.csv", "linked/fsq.csv"]
    # the same order every time: the digest depends on it
    assert [e.path for e, _ in walk(str(root))] == [e.path for e, _ in walk(str(root))]


def test_tighten_fixes_folders_before_entering_them_and_leaves_link_targets_alone(tmp_path):
    root, outside = _tree(tmp_path)
    (root / "b").chmod(0o755)
    (root / "b" / "1.csv").chmod(0o644)
    outside.chmod(0o755)
    (outside / "fsq.csv").chmod(0o644)
    assert perms.loose_paths(root)
    changed = perms.tighten(root)
    assert changed >= 2 and perms.loose_paths(root) == []
    assert stat.S_IMODE((root / "b").stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "b" / "1.csv").stat().st_mode) == 0o600
    assert stat.S_IMODE(outside.stat().st_mode) == 0o755           # not ours to change
    assert stat.S_IMODE((outside / "fsq.csv").stat().st_mode) == 0o644
    assert perms.tighten(root) == 0                                  # idempotent


def test_an_unreadable_folder_raises_or_is_reported(tmp_path, monkeypatch):
    import pytest
    assert list(walk(str(tmp_path / "gone"))) == []                 # a missing folder: nothing
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "x.csv").write_text("x")
    (tmp_path / "open.csv").write_text("y")
    real = os.scandir

    def scandir(path):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)
    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(PermissionError):                            # change detection must not miss files
        list(walk(str(tmp_path)))
    errors = []
    seen = [e.name for e, _ in walk(str(tmp_path), on_error=errors.append)]
    assert seen == ["locked", "open.csv"] and len(errors) == 1      # tighten carries on
