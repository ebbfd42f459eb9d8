"""When a long run says a line: one rule for every progress printer of `destinations run` (dbt's
nodes, lib/dbt_progress.py; the disclosure engine's blocks, lib/disclosure/progress.py; the run's
steps, runner.py). A line of a kind is due when `every` seconds have passed since the last line
(`line_due`): a count line every so often, and, when nothing has been said for a while, one
saying what is still running and for how long (`elapsed`). `Heartbeat` is the thread that looks
at the clock where nothing else would; its `beat` must be safe to call from that thread."""
from __future__ import annotations

import threading
from typing import Callable

QUIET = 60.0   # seconds without a line after which a run says what is still running
WAKE = 5.0     # seconds between a heartbeat's looks at the clock


def due_in(now: float, last: float, every: float) -> float:
    """Seconds until a line is due (0: due now): `every` seconds after the last one."""
    return max(0.0, every - (now - last))


def line_due(now: float, last: float, every: float) -> bool:
    """Whether a line is due: `every` seconds since the last one."""
    return due_in(now, last, every) == 0.0


def elapsed(seconds: float) -> str:
    """How long something has run, as the progress lines say it: 45s, 2m0s, 1h5m."""
    s = int(max(0.0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60}s"
    return f"{s // 3600}h{s % 3600 // 60}m"


class Heartbeat:
    """A daemon thread calling `beat()` every `wake` seconds from `start()` until `stop()`."""

    def __init__(self, beat: Callable[[], None], wake: float = WAKE, name: str = "heartbeat") -> None:
        self.beat, self.wake, self.name = beat, wake, name
        self._stop: threading.Event | None = None

    def start(self) -> None:
        if self._stop is None:
            self._stop = threading.Event()
            threading.Thread(target=self._run, args=(self._stop,), name=self.name, daemon=True).start()

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.wake):
            self.beat()

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def __enter__(self) -> "Heartbeat":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
