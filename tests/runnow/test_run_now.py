"""Run now: a detached background run, one at a time, with its log and result."""
from __future__ import annotations

import sys
import time

from pipelines.config import paths
from pipelines.lib import runnow


def _wait(p, secs=60):
    t0 = time.time()
    while time.time() - t0 < secs:
        s = runnow.state(p)
        if s and not s.running:
            return s
        time.sleep(0.2)
    raise AssertionError("run did not finish")


def test_one_run_at_a_time_with_log_and_exit_code(tmp_path):
    p = paths(tmp_path)
    slow = [sys.executable, "-c", "import time; print('step 1', flush=True); time.sleep(2); print('finished')"]
    first = runnow.start(p, "admin", command=slow)
    assert first.running
    second = runnow.start(p, "someone else", command=[sys.executable, "-c", "print('second')"])
    assert second.pid == first.pid and second.started_by == "admin"  # refused: the first is still going
    done = _wait(p)
    assert done.exit_code == 0 and "finished" in done.tail() and "second" not in done.tail()
    failing = runnow.start(p, "admin", command=[sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"])
    assert failing.pid != first.pid
    done = _wait(p)
    assert done.exit_code == 3 and "boom" in done.tail()


def test_real_destinations_run_reports_its_problem(tmp_path):
    p = paths(tmp_path)  # an empty data directory: the real command explains what is missing
    runnow.start(p, "admin")
    done = _wait(p, 120)
    assert done.exit_code == 1
    assert "No raw/ folder" in done.tail()
