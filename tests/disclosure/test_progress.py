"""The engine's progress lines (run(on_progress=...)): each partition started and done, k of n, and
how far the blocks have got at most every PROGRESS_EVERY seconds; the cells are those of a run
without them."""
from __future__ import annotations

import re
import time
from pathlib import Path

from pipelines.lib.disclosure import engine, progress
from tests.disclosure.test_partitions import _frames, _sorted


class Clock:
    def __init__(self) -> None:
        self.t = 50.0

    def __call__(self) -> float:
        return self.t


def test_a_line_on_how_far_it_has_got_is_said_at_most_every_so_often():
    clock, lines = Clock(), []
    p = progress.Progress(lines.append, every=30.0, now=clock)
    p.planned, p.done = 120, 40
    clock.t += 29.9
    p.tick()
    assert lines == [] and abs(p.wait() - 0.1) < 1e-9
    clock.t += 0.1
    big = p.slot()
    p.out["a"] = (34316, 55.0, big)                   # as _Queue.top_up records a block it sent
    small = p.slot()
    p.out["b"] = (900, 60.0, small)
    assert big[1] != small[1] and p.slot()[1] not in (big[1], small[1])
    with progress.PassCounter(*big) as count:          # as the worker computing the block counts its passes
        count(1)
        count(7)
    with progress.PassCounter(*small) as count:
        count(3)
    p.tick()
    assert lines == ["disclosure engine: blocks 40 of 120 done; 2 in the workers, the largest 34,316 variables "
                     "for 25s, pass 7"]
    p.tick()                                    # at once again: nothing
    assert len(lines) == 1 and p.wait() == 30.0
    assert p.partition(["leaving_year=2024-25"], 3, 5) == "leaving_year=2024-25 (3 of 5)"
    assert p.partition(["a", "b", "c"], 2, 5) == "a and 2 more (2-4 of 5)"
    p.back("a")
    assert p.slot() == big                             # its slot free again (set to 0)
    assert progress.PassCounter.read(*big) == 0
    path = big[0]
    p.close()
    assert not __import__("os").path.exists(path)


def test_what_is_being_done_is_said_when_no_line_has_come_for_a_while():
    clock, lines = Clock(), []
    p = progress.Progress(lines.append, every=30.0, now=clock)
    p.beat()
    assert lines == []                                  # nothing being done
    p.step("leaving_year=2024-25 (1 of 3) building its structure")
    clock.t += 29
    p.beat()
    assert lines == []
    clock.t += 61
    p.beat()
    assert lines == ["disclosure engine: leaving_year=2024-25 (1 of 3) building its structure (1m30s)"]
    clock.t += 10
    p.say("disclosure engine: something else")         # any line puts the next off
    clock.t += 29
    p.beat()
    p.tick()
    assert len(lines) == 2
    p.step(None)
    clock.t += 100
    p.beat()
    assert len(lines) == 2
    p.stop()


def test_a_slow_structure_is_said_to_be_building(tmp_path, monkeypatch):
    frames = _frames()
    real = engine.build_structure

    def slow(*a, **k):
        time.sleep(1.0)
        return real(*a, **k)
    monkeypatch.setattr(engine, "build_structure", slow)
    monkeypatch.setattr(progress, "PROGRESS_EVERY", 0.3)
    monkeypatch.setattr(progress, "PROGRESS_WAKE", 0.05)
    monkeypatch.setattr(engine, "BATCH_CELLS", 0)          # each partition alone
    lines: list[str] = []
    engine.run(frames, cache_path=tmp_path / "a.sqlite", by_partition=True, workers=1, on_progress=lines.append)
    building = [ln for ln in lines if re.fullmatch(r"disclosure engine: leaving_year=\S+ \(\d+ of \d+\) "
                                                   r"building its structure \(\ds\)", ln)]
    assert len(building) >= len(set(frames["destination_measures"]["leaving_year"])), lines


def test_partition_lines_with_every_block_in_the_workers_and_the_same_cells(tmp_path, monkeypatch):
    frames = _frames()
    years = sorted(set(frames["destination_measures"]["leaving_year"]))
    cold = engine.run(frames, cache_path=tmp_path / "a.sqlite", by_partition=True, workers=2)
    monkeypatch.setattr(engine, "POOL_FROM_VARS", 0)       # every block to the workers
    monkeypatch.setattr(engine, "BATCH_CELLS", 0)          # each partition alone
    monkeypatch.setattr(progress, "PROGRESS_EVERY", 0.0)     # a line at every chance
    lines: list[str] = []
    got = engine.run(frames, cache_path=tmp_path / "b.sqlite", by_partition=True, workers=2,
                     on_progress=lines.append)
    assert _sorted(got.cells).equals(_sorted(cold.cells))
    n = len(years)
    assert lines[0].startswith(f"disclosure engine: {n} partitions, {n} to compute ("), lines
    for year in years:
        started = [ln for ln in lines if re.fullmatch(rf"disclosure engine: leaving_year={year} \(\d of {n}\) "
                                                      r"started: [\d,]+ cells", ln)]
        done = [ln for ln in lines if re.fullmatch(rf"disclosure engine: leaving_year={year} \(\d of {n}\) done in "
                                                   r"[\d.]+s: [\d,]+ cells \([\d,]+ hidden\), \d+ blocks", ln)]
        assert len(started) == 1 and len(done) == 1, lines
    assert sorted(re.search(r"\((\d) of", ln).group(1) for ln in lines if "started" in ln) == \
        [str(k) for k in range(1, n + 1)]
    beats = [ln for ln in lines if ln.startswith("disclosure engine: blocks ")]
    assert beats and all(re.fullmatch(r"disclosure engine: blocks [\d,]+ of [\d,]+ done(; .*)?", ln) for ln in beats)
    # again with its cache: nothing to compute, said so
    lines.clear()
    engine.run(frames, cache_path=tmp_path / "b.sqlite", by_partition=True, workers=2, on_progress=lines.append)
    assert lines == [f"disclosure engine: {n} partitions, 0 to compute (0 cells), {n} unchanged (cells kept)"]


KILLED = """
import glob, os, tempfile, time
from pipelines.lib.disclosure import engine
from pipelines.lib.scratch import scratch
from tests.disclosure.test_partitions import _frames
engine.POOL_FROM_VARS = 0          # every block to the workers: each counts its passes in the pass file
engine.BATCH_CELLS = 0

def say(line):   # the pass file made (a block sent): held here until killed
    if glob.glob(os.path.join(tempfile.gettempdir(), f"disclosure-passes-{os.getpid()}-*")):
        time.sleep(3600)


with scratch("disclosure") as tmp:   # as int_disclosure__cells does
    engine.run(_frames(), cache_path=tmp / "cache.sqlite", by_partition=True, workers=2, on_progress=say)
"""


NEXT = """
import os, tempfile
from pipelines.lib.disclosure import engine
from pipelines.lib.scratch import scratch
from tests.disclosure.test_partitions import _frames
engine.POOL_FROM_VARS = 0
lines = []
with scratch("disclosure") as tmp:
    engine.run(_frames(), cache_path=tmp / "cache.sqlite", by_partition=True, workers=2, on_progress=lines.append)
    assert any(" done in " in ln for ln in lines), lines
    print(*sorted(n.rsplit("-", 1)[0] for n in os.listdir(tempfile.gettempdir())), os.getpid())
"""


def test_a_killed_engine_leaves_no_temporary_files_after_the_next_run(request):
    """SIGKILL (the run and its workers, as kill -9 of a run's process group) leaves its folders in
    the temporary folder; the next run removes them (lib/scratch.py) and its own when it ends."""
    import os
    import subprocess
    import sys

    from tests.killed import REPO, kill_when, short_temp

    temp = short_temp(request)   # else the engine would do every block in process: no pass file
    repo = REPO
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONPATH": repo}
    pid = kill_when(KILLED, env, "disclosure-passes-{pid}-*/passes", temp, "the engine (no block sent to a worker)")
    left = sorted(p.name.rsplit("-", 1)[0] for p in temp.iterdir())
    assert left == [f"disclosure-{pid}", f"disclosure-passes-{pid}", f"pymp-{pid}"], left   # a kill's
    out = subprocess.run([sys.executable, "-c", NEXT], cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    said = out.stdout.splitlines()[-1].split()
    mine = said[-1]   # the next run's pid: while it ran, the killed run's folders were gone
    assert said == [f"disclosure-{mine}", f"pymp-{mine}", mine], out.stdout
    assert list(temp.iterdir()) == []       # and its own, once it ended


WORKER_FOLDER = """
import os, tempfile
from multiprocessing import process
from pipelines.lib import scratch
assert scratch.forkserver_context().get_start_method() == "forkserver"
print(process.current_process()._config.get("tempdir"), *sorted(os.listdir(tempfile.gettempdir())))
"""


def test_the_workers_folder_is_ours_only_where_their_socket_fits(request):
    """The workers' forkserver socket lives in the folder (…/listener-xxxxxxxx, at most 107 bytes):
    under a long temporary folder multiprocessing's own (shorter) one is kept, and none of ours is left."""
    import os
    import subprocess
    import sys

    from tests.killed import REPO as repo, short_temp

    short = short_temp(request)
    long = short / ("x" * 80)
    for temp, ours in ((short, True), (long, False)):
        temp.mkdir(exist_ok=True)
        out = subprocess.run([sys.executable, "-c", WORKER_FOLDER], cwd=repo, capture_output=True, text=True,
                             env={**os.environ, "TMPDIR": str(temp), "PYTHONPATH": repo}, timeout=60)
        assert out.returncode == 0, out.stderr
        said = out.stdout.split()
        if ours:
            assert said[0].startswith(str(temp / "pymp-")) and said[1:] == [Path(said[0]).name], said
        else:
            assert said == ["None"], said   # and nothing of ours left in the long folder
