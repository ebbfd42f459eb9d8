"""What the disclosure engine says while it runs (engine.run(on_progress=say)): counts and clocks
only, no decision reads them. Not part of engine._engine_version(), which keys the decision cache:
a change here changes no cell, so it recomputes nothing."""
from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time

from pipelines.lib.heartbeat import Heartbeat, due_in, elapsed, line_due

PROGRESS_EVERY = 30.0   # seconds between the engine's lines on how far a partition has got (run(on_progress=...))
PROGRESS_WAKE = 5.0     # seconds between looks at the clock by the thread that says what is being done


class Progress:
    """Lines of text, `say` called in the engine's process: each partition (or batch of small ones)
    started and done, and in between, at most every `every` seconds (`tick`, called between pieces
    of work and while waiting for the workers), the blocks done of those planned so far and the
    largest block out in a worker; and when no line has come for `every` seconds (a partition's
    structure being built, its cells stored), what is being done and for how long (`step`): said
    by a Heartbeat thread, so `say` must be safe to call from another thread (dbt_cli.note is:
    dbt's own threads fire events)."""

    def __init__(self, say, every: float | None = None, now=time.monotonic) -> None:
        self._say, self.every, self.now = say, PROGRESS_EVERY if every is None else every, now
        self.planned = self.done = 0      # blocks to compute (not from the cache), of the partitions started
        self.out: dict = {}               # a block in a worker (its future) -> (variables, when sent, slot)
        self.last = now()
        self._passes: str | None = None   # a file of pass counts, one 4-byte slot per block out (PassCounter)
        self.doing: tuple[str, float] | None = None   # what is being done, since when (step)
        self._said = threading.Lock()     # one line at a time, and `last` set with it (tick, beat)
        self._beats: Heartbeat | None = None

    def say(self, line: str) -> None:
        self.last = self.now()   # any line: the next one on how far it has got is `every` s after it
        self._say(line)

    def step(self, what: str | None) -> None:
        """What is being done now (None: nothing to say); the thread that says it starts at the first."""
        self.doing = (what, self.now()) if what else None   # one assignment: read whole by the thread
        if self._beats is None and what:
            self._beats = Heartbeat(self.beat, min(PROGRESS_WAKE, self.every / 3) or PROGRESS_WAKE,
                                    name="engine-progress")
            self._beats.start()

    def beat(self) -> None:
        """A line on what is being done, if no line has come for `every` seconds."""
        doing = self.doing
        with self._said:
            t = self.now()
            if doing is None or not line_due(t, self.last, self.every):
                return
            self.say(f"disclosure engine: {doing[0]} ({elapsed(t - doing[1])})")

    def stop(self) -> None:
        """The thread stops (the run is over)."""
        self.doing = None
        if self._beats is not None:
            self._beats.stop()

    def slot(self) -> tuple[str, int] | None:
        """Where a block sent to a worker counts its passes (None: no file could be made)."""
        if self._passes is None:
            from pipelines.lib.scratch import folder
            try:   # in a folder of this process: a killed run's is removed by the next (lib/scratch.py)
                self._passes = str(folder("disclosure-passes") / "passes")
                open(self._passes, "wb").close()
            except OSError:
                return None
        used = {o[2][1] for o in self.out.values() if o[2] is not None}
        n = min(set(range(len(used) + 1)) - used)
        with PassCounter(self._passes, n) as count:
            count(0)
        return self._passes, n

    def back(self, f) -> None:
        self.out.pop(f, None)

    def close(self) -> None:
        self.out.clear()
        if self._passes is not None:
            shutil.rmtree(os.path.dirname(self._passes), ignore_errors=True)
            self._passes = None

    def wait(self) -> float:
        """Seconds until the next line is due."""
        return due_in(self.now(), self.last, self.every)

    def partition(self, batch: list[str], first: int, of: int) -> str:
        """A batch's name in these lines: its label (and how many more), k of n."""
        if len(batch) == 1:
            return f"{batch[0]} ({first} of {of})"
        return f"{batch[0]} and {len(batch) - 1} more ({first}-{first + len(batch) - 1} of {of})"

    def tick(self) -> None:
        with self._said:
            self._tick()

    def _tick(self) -> None:
        t = self.now()
        if not line_due(t, self.last, self.every):
            return
        line = f"disclosure engine: blocks {self.done:,} of {self.planned:,} done"
        if self.out:
            size, since, slot = max(self.out.values(), key=lambda o: (o[0], -o[1]))
            passes = PassCounter.read(*slot) if slot is not None else 0
            line += (f"; {len(self.out)} in the workers, the largest {size:,} variables "
                     f"for {elapsed(t - since)}" + (f", pass {passes}" if passes else ""))
        self.say(line)


class PassCounter:
    """A worker's count of its block's passes, in its slot of the run's file (Progress.slot), read
    by the run's process for its progress lines: 4 bytes written per pass (a pass takes far longer)."""

    def __init__(self, path: str, slot: int) -> None:
        self.path, self.slot, self.fd = path, slot, -1

    def __enter__(self):
        with contextlib.suppress(OSError):
            self.fd = os.open(self.path, os.O_WRONLY)
        return self

    def __call__(self, k: int) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.pwrite(self.fd, k.to_bytes(4, "little"), 4 * self.slot)

    def __exit__(self, *exc) -> None:
        if self.fd >= 0:
            os.close(self.fd)

    @staticmethod
    def read(path: str, slot: int) -> int:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return 0
        try:
            return int.from_bytes(os.pread(fd, 4, 4 * slot).ljust(4, b"\0"), "little")
        finally:
            os.close(fd)
