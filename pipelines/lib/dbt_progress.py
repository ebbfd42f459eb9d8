"""What `destinations run` prints while dbt builds (the warehouse_models step), from dbt's own event
stream (the JSON lines dagster-dbt reads from the dbt process):

- each node (model, seed, test) of `SLOW` seconds or more when it ends, with how many are done;
- a node that fails, errors or warns, by name, at once;
- a count line (done of total, and what is still running) when `EVERY` seconds have passed since the
  last one and nodes ended meanwhile;
- the lines the dbt process sends for the run's output (dbt_cli.note: the disclosure engine's
  partitions and how far it has got), as they come;
- a closing line: nodes done, failed, skipped, and dbt's seconds;
- when no line has come for `QUIET` seconds (a single model running for minutes): what is still
  running and for how long.

When a line is due is lib/heartbeat.py's rule, the same for the engine's lines and the run's steps.

At `large` (133 nodes, ~90 s) that is a dozen node lines, two or three count lines and the engine's,
instead of dbt's 266 START / OK lines; at national, where single models run for minutes and the
engine for over an hour, something still comes at least every 30 s from the engine and at every
slow node. dbt's full log stays in the data directory's dbt.log.
"""
from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from typing import Callable, Iterator

from pipelines.lib.heartbeat import QUIET, WAKE, elapsed, line_due

SLOW = 1.0      # a node that took this many seconds or more gets its own line
EVERY = 30.0    # seconds between count lines (none when no node ended since)
NOTE = "progress: "   # a dbt Note whose text starts so is a line for the run's output (dbt_cli.note)
RESULTS = {"LogModelResult", "LogSeedResult", "LogTestResult", "LogSnapshotResult"}
BAD = {"error", "fail", "warn"}   # a node's status that is named at once


def count_line_due(now: float, last: float, ended_since: int, every: float = EVERY) -> bool:
    """Whether a count line is due: `every` seconds since the last one, and nodes ended since."""
    return ended_since > 0 and line_due(now, last, every)


def _kind(unique_id: str) -> str:
    return unique_id.split(".", 1)[0]


def _short(name: str, most: int = 60) -> str:
    """A node's name, cut to `most` characters (dbt names generic tests by all their arguments)."""
    return name if len(name) <= most else name[:most - 3] + "..."


def _kinds(done: dict[str, int]) -> str:
    """"5 models, 1 test"."""
    return ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in sorted(done.items()))


class DbtProgress:
    """Called with each item of dbt's output (a parsed JSON event, or a line that is not one);
    `say` gets the lines to print. `now`: the clock (seconds)."""

    def __init__(self, say: Callable[[str], None], slow: float = SLOW, every: float = EVERY,
                 now: Callable[[], float] = time.monotonic, quiet: float = QUIET) -> None:
        self.slow, self.every, self.now, self.quiet = slow, every, now, quiet
        self.t0 = self.last_count = self.last_line = now()

        def said(line: str) -> None:
            self.last_line = self.now()
            say(line)
        self.say = said
        self.total = 0
        self.done: dict[str, int] = {}        # kind (model, seed, test) -> nodes ended
        self.bad: list[str] = []              # nodes failed or errored
        self.skipped = 0
        self.running: dict[str, float] = {}   # node name -> when it started
        self.ended_since = 0                  # nodes ended since the last count line

    def __call__(self, item) -> None:
        if not isinstance(item, dict):        # not dbt's JSON: a Python warning or traceback of the dbt process
            if str(item).strip():
                self.say(f"dbt: {str(item).rstrip()}")
            return
        info, data = item.get("info", {}), item.get("data", {})
        name = info.get("name")
        node = data.get("node_info") or {}
        label = _short(node.get("node_name") or data.get("name") or "")
        if name == "Note" and str(data.get("msg", "")).startswith(NOTE):
            self.say(data["msg"][len(NOTE):])
        elif name == "LogStartLine" and label:
            self.running[label] = self.now()
            self.total = int(data.get("total") or self.total)
        elif name in RESULTS and node.get("unique_id", "").split(".")[0] != "unit_test":
            self._ended(node, label, data)
        elif name == "SkippingDetails":
            self.skipped += 1
            self.total = int(data.get("total") or self.total)
            self._count_line()

    def _ended(self, node: dict, label: str, data: dict) -> None:
        kind = _kind(node.get("unique_id", "model."))
        self.total = int(data.get("total") or data.get("num_models") or self.total)
        self.running.pop(label, None)
        secs = float(data.get("execution_time") or 0.0)
        self.done[kind] = self.done.get(kind, 0) + 1
        self.ended_since += 1
        status = str(node.get("node_status") or data.get("status") or "").lower()
        if status in BAD:
            word = {"warn": "WARNED", "fail": "FAILED"}.get(status, "FAILED (error)")
            failing = data.get("num_failures")
            if status != "warn":
                self.bad.append(label)
            self.say(f"dbt: {kind} {label} {word} after {secs:.1f}s"
                     + (f" ({failing} failing rows)" if failing else "") + f" [{self._done()}]")
        elif secs >= self.slow:
            self.say(f"dbt: {kind} {label} done in {secs:.1f}s [{self._done()}]")
        self._count_line()

    def _done(self) -> str:
        return f"{sum(self.done.values()) + self.skipped} of {self.total or '?'}"

    def _count_line(self) -> None:
        t = self.now()
        if not count_line_due(t, self.last_count, self.ended_since, self.every):
            return
        self.last_count, self.ended_since = t, 0
        running = self._running(t)
        self.say(f"dbt: {self._done()} done ({_kinds(self.done)})" + (f"; running: {running}" if running else ""))

    def _running(self, t: float) -> str:
        """The three nodes running longest, with their seconds so far."""
        longest = sorted(self.running.items(), key=lambda kv: kv[1])[:3]
        return ", ".join(f"{k} ({elapsed(t - since)})" for k, since in longest)

    def heartbeat(self) -> None:
        """A line on what is still running (and for how long), if none has come for `quiet` seconds."""
        t = self.now()
        if not line_due(t, self.last_line, self.quiet):
            return
        self.say(f"dbt: still running {self._running(t) or 'nothing (between nodes)'}; {self._done()} done")

    def close(self) -> None:
        """The closing line (once dbt's stream has ended, however it ended)."""
        kinds = _kinds(self.done)
        self.say(f"dbt: {self._done()} nodes done in {self.now() - self.t0:.1f}s ({kinds or 'none'})"
                 + (f"; {len(self.bad)} failed: {', '.join(self.bad[:5])}" if self.bad else "")
                 + (f"; {self.skipped} skipped" if self.skipped else ""))

    @contextlib.contextmanager
    def reading(self, invocation) -> Iterator[None]:
        """While the block streams `invocation` (dagster-dbt's DbtCliInvocation): each item of dbt's
        output passes through here on its way to dagster-dbt, and the copy of each dbt log line that
        dagster-dbt writes to this process's stdout is dropped (dbt.log keeps them all). A dagster-dbt
        without that method: its own output, no progress lines.

        dbt's output is read by a thread (`_pump`) into a queue, so that the step's thread, which
        says every line (Dagster's log handler is not safe from other threads), wakes every `WAKE`
        seconds while dbt says nothing, for the heartbeat."""
        stream = getattr(invocation, "_stream_stdout", None)   # the one place dagster-dbt reads dbt's output
        if stream is None:
            yield
            return

        def read():
            items: queue.Queue = queue.Queue()
            threading.Thread(target=_pump, args=(stream, items), name="dbt-output", daemon=True).start()
            try:
                while True:
                    try:
                        more, item = items.get(timeout=WAKE)
                    except queue.Empty:
                        self.heartbeat()
                        continue
                    if not more:
                        if item is not None:
                            raise item
                        return
                    self(item)
                    yield item
            except BaseException:   # interrupted, or the reader stopped early: dbt stops too, as dagster-dbt does
                process = getattr(invocation, "process", None)
                if process is not None and process.poll() is None:
                    _stop(process, getattr(invocation, "termination_timeout_seconds", 25))
                raise
        invocation._stream_stdout = read
        try:
            with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
                yield
        finally:
            invocation._stream_stdout = stream
            sys.stdout.flush()
            self.close()


def _stop(process, timeout: float) -> None:
    """SIGINT to dbt (it finishes what it can), then SIGTERM, then SIGKILL: a process started from a
    background job or cron inherits SIGINT ignored, and dbt must not outlive the run."""
    for send, wait in ((lambda: process.send_signal(signal.SIGINT), timeout), (process.terminate, 5.0),
                       (process.kill, 5.0)):
        with contextlib.suppress(OSError):
            send()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait)
            return


def _pump(stream, items: queue.Queue) -> None:
    """Every item of `stream()` into `items` as (True, item); then (False, None), or (False, the
    error it ended with)."""
    try:
        for item in stream():
            items.put((True, item))
    except BaseException as e:   # handed to the reading thread, which raises it
        items.put((False, e))
    else:
        items.put((False, None))
