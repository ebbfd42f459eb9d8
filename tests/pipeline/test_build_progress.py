"""What a long run prints while dbt builds: dbt's nodes (slow ones by name, failures at once, a
count line at most every EVERY seconds) and the disclosure engine's partitions, from dbt's own
event stream (lib/dbt_progress.py, dbt_cli.note). The full run's output is checked in
test_run_incremental.py (test_full_then_nothing_new)."""
from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from pipelines.lib import dbt_progress
from pipelines.lib.dbt_progress import EVERY, NOTE, QUIET, DbtProgress, count_line_due
from pipelines.lib.heartbeat import Heartbeat, due_in, elapsed, line_due


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _result(name: str, secs: float, index: int, total: int = 10, status: str = "success", kind: str = "model",
            event: str = "LogModelResult") -> dict:
    return {"info": {"name": event, "level": "info", "msg": "..."},
            "data": {"node_info": {"unique_id": f"{kind}.trust_destinations.{name}", "node_name": name,
                                   "node_status": status},
                     "index": index, "total": total, "execution_time": secs}}


def _start(name: str, index: int, total: int = 10) -> dict:
    return {"info": {"name": "LogStartLine", "level": "info", "msg": "..."},
            "data": {"node_info": {"unique_id": f"model.trust_destinations.{name}", "node_name": name},
                     "index": index, "total": total}}


def test_a_line_is_due_every_so_often_and_none_while_lines_flow():
    """The one rule of every progress printer (lib/heartbeat.py), with an injected clock."""
    clock, last, said = Clock(), 100.0, []
    for _ in range(20):                 # a line every 10 s: a 30 s line is never due
        clock.t += 10
        if line_due(clock(), last, 30.0):
            said.append(clock())
        last = clock()
    assert said == []
    clock.t += 29.9
    assert not line_due(clock(), last, 30.0)
    assert abs(due_in(clock(), last, 30.0) - 0.1) < 1e-9   # how long to wait for it (engine: Progress.wait)
    clock.t += 0.1
    assert line_due(clock(), last, 30.0)
    assert due_in(clock(), last, 30.0) == 0.0 and due_in(clock() + 5, last, 30.0) == 0.0
    assert [elapsed(s) for s in (0, 45.7, 60, 120, 3599, 3600, 7500)] == \
        ["0s", "45s", "1m0s", "2m0s", "59m59s", "1h0m", "2h5m"]


def test_a_heartbeat_thread_beats_every_so_often_until_stopped():
    beats: list[float] = []
    with Heartbeat(lambda: beats.append(time.monotonic()), wake=0.02):
        time.sleep(0.3)
    n = len(beats)
    time.sleep(0.1)
    assert 3 <= n <= 16 and len(beats) <= n + 1, beats


def test_a_count_line_is_due_every_so_often_and_only_when_nodes_ended():
    assert not count_line_due(now=129.9, last=100.0, ended_since=5)
    assert count_line_due(now=130.0, last=100.0, ended_since=5)
    assert not count_line_due(now=500.0, last=100.0, ended_since=0)   # nothing ended: nothing to count
    assert count_line_due(now=101.0, last=100.0, ended_since=1, every=1.0)


def test_slow_nodes_failures_notes_and_counts_are_said_and_fast_nodes_are_not():
    clock, lines = Clock(), []
    p = DbtProgress(lines.append, now=clock)
    p(_start("stg_fast", 1))
    p(_result("stg_fast", 0.2, 1))
    assert lines == []                                                  # a fast node: counted, not said
    p(_start("int_disclosure__cells", 2))
    p({"info": {"name": "Note", "level": "info"}, "data": {"msg": NOTE + "disclosure engine: 5 partitions"}})
    p({"info": {"name": "Note", "level": "info"}, "data": {"msg": "some other note of dbt"}})
    assert lines == ["disclosure engine: 5 partitions"]
    p(_result("fsq_construct_scores", 4.25, 3))
    assert lines[-1] == "dbt: model fsq_construct_scores done in 4.2s [2 of 10]"
    p(_result("broken_model", 0.1, 4, status="error"))
    assert lines[-1] == "dbt: model broken_model FAILED (error) after 0.1s [3 of 10]"
    test = _result("unique_pupils", 0.3, 5, status="fail", kind="test", event="LogTestResult")
    test["data"]["num_failures"] = 7
    p(test)
    assert lines[-1] == "dbt: test unique_pupils FAILED after 0.3s (7 failing rows) [4 of 10]"
    p(_result("td_checks_int_disclosure__cells_mart__row_key__measure__hidden__partition_label", 1.5, 5,
              kind="test", event="LogTestResult", status="pass"))
    assert lines[-1] == "dbt: test td_checks_int_disclosure__cells_mart__row_key__measure__h... done in 1.5s [5 of 10]"
    n = len(lines)
    clock.t += EVERY - 1
    p(_result("stg_other", 0.1, 6))
    assert len(lines) == n                                             # not yet EVERY seconds
    clock.t += 1
    p(_result("stg_third", 0.1, 7))
    assert lines[-1] == "dbt: 7 of 10 done (5 models, 2 tests); running: int_disclosure__cells (30s)"
    p({"info": {"name": "SkippingDetails", "level": "info"}, "data": {"index": 8, "total": 10}})
    p("Traceback (most recent call last):")                           # not dbt's JSON: passed on as it is
    assert lines[-1] == "dbt: Traceback (most recent call last):"
    p.close()
    assert lines[-1] == ("dbt: 8 of 10 nodes done in 30.0s (5 models, 2 tests); "
                         "2 failed: broken_model, unique_pupils; 1 skipped")


def test_a_long_node_is_said_to_be_still_running_about_every_minute_and_not_while_lines_flow():
    clock, lines = Clock(), []
    p = DbtProgress(lines.append, now=clock)
    p(_start("stg_fast", 1))
    p(_result("stg_fast", 0.2, 1))
    p(_start("int_destinations__pupil_history", 2))
    for _ in range(11):              # the stream reader wakes every WAKE s while dbt says nothing
        clock.t += 5
        p.heartbeat()
    assert lines == []               # 55 s: not yet
    clock.t += 5
    p.heartbeat()
    assert lines == ["dbt: still running int_destinations__pupil_history (1m0s); 1 of 10 done"]
    clock.t += 5
    p.heartbeat()
    assert len(lines) == 1           # just said: the next one a minute later
    clock.t += QUIET - 5
    p.heartbeat()
    assert lines[-1] == "dbt: still running int_destinations__pupil_history (2m0s); 1 of 10 done"
    for _ in range(10):              # the engine speaking every 30 s: no heartbeat between its lines
        clock.t += 30
        p({"info": {"name": "Note", "level": "info"}, "data": {"msg": NOTE + "disclosure engine: blocks"}})
        p.heartbeat()
    assert not any(ln.startswith("dbt: still") for ln in lines[2:])
    p(_result("int_destinations__pupil_history", 420.0, 2))
    clock.t += QUIET
    p.heartbeat()
    assert lines[-1] == "dbt: still running nothing (between nodes); 2 of 10 done"


def test_reading_wakes_for_the_heartbeat_while_dbt_is_silent_and_passes_on_its_error(monkeypatch):
    monkeypatch.setattr(dbt_progress, "WAKE", 0.02)

    class Invocation:
        def _stream_stdout(self):
            yield _start("slow_model", 1)
            time.sleep(0.5)          # one model running, nothing from dbt
            yield _result("slow_model", 0.5, 1)
            raise RuntimeError("dbt's stream broke")

    lines: list[str] = []
    items: list = []
    p, inv = DbtProgress(lines.append, quiet=0.2), Invocation()
    with pytest.raises(RuntimeError, match="stream broke"):
        with p.reading(inv):
            items.extend(inv._stream_stdout())
    assert len(items) == 2
    assert any(ln.startswith("dbt: still running slow_model (0s); 0 of 10 done") for ln in lines), lines


@pytest.mark.parametrize("on_sigint", ["default_int_handler", "SIG_IGN"])
def test_a_reading_stopped_early_stops_dbt(on_sigint):
    """SIGINT stops dbt; a dbt that ignores it (started from a background job or cron) is terminated."""
    import subprocess
    import sys
    dbt = subprocess.Popen([sys.executable, "-c", f"import signal, time; signal.signal(signal.SIGINT, "
                            f"signal.{on_sigint}); print('ready', flush=True); time.sleep(60)"],
                           stdout=subprocess.PIPE, text=True)
    assert dbt.stdout.readline().strip() == "ready"

    class Invocation:
        process, termination_timeout_seconds = dbt, 2

        def _stream_stdout(self):
            yield _start("slow_model", 1)
            dbt.wait()               # nothing more until dbt ends

    inv = Invocation()
    with DbtProgress([].append).reading(inv):
        reading = inv._stream_stdout()
        next(reading)
        reading.close()              # as when the step is interrupted
    # stopped by SIGINT (Python re-raises it at exit), or, SIGINT ignored, by SIGTERM or SIGKILL
    # (-9 where the environment also ignores SIGTERM, as clean-clone CI showed)
    assert dbt.poll() in ((-15, -9) if on_sigint == "SIG_IGN" else (-2,))


def test_the_real_dbt_stream_names_a_failing_model_and_carries_the_engines_lines(tmp_path):
    """Real dbt through the launcher, with its JSON log (as dagster-dbt starts it): a Python model
    sends a line with dbt_cli.note (also from a thread of its own), a model fails; both reach the progress lines, with dbt's count."""
    from tests.pipeline.test_dbt_order import _dbt_build
    code, status, out = _dbt_build(tmp_path, {
        "returns": "select 1 as n",
        "broken": "select * from no_such_table",
        "after_broken": "select * from {{ ref('broken') }}",
    }, python={"int_disclosure__cells": (
        "from pipelines.lib.dbt_cli import note\n"
        "def model(dbt, session):\n"
        "    dbt.ref('returns')\n"
        "    note('disclosure engine: leaving_year=2024-25 (1 of 1) started: 3 cells')\n"
        "    import threading\n"
        "    t = threading.Thread(target=note, args=('disclosure engine: said from a thread',))\n"
        "    t.start(); t.join()\n"
        "    return session.sql('select 1 as n')\n")}, args=["--log-format", "json"])
    assert code == 1, out
    lines: list[str] = []
    p = DbtProgress(lines.append, slow=0.0)
    for raw in out.splitlines():
        try:
            item = json.loads(raw)
        except ValueError:
            item = raw
        p(item)
    p.close()
    said = "\n".join(lines)
    assert "disclosure engine: leaving_year=2024-25 (1 of 1) started: 3 cells" in lines, said
    assert "disclosure engine: said from a thread" in lines, said   # as the engine's heartbeat is
    assert any(ln.startswith("dbt: model broken FAILED (error)") for ln in lines), said
    total = len(status)                       # every node of the build (run_results.json)
    assert lines[-1].startswith(f"dbt: {total} of {total} nodes done"), said
    assert "1 failed: broken" in lines[-1] and "1 skipped" in lines[-1], said


def test_the_timing_summary_names_dbts_slowest_nodes():
    from pipelines.runner import Timings, slowest_nodes
    seconds = {"model.trust_destinations.int_disclosure__cells": 71.0, "seed.trust_destinations.codes": 0.2,
               "model.trust_destinations.fsq_construct_scores": 1.7, "test.trust_destinations.unique_x.d432a35e2a": 1.1}
    slow = slowest_nodes(seconds, top=2)
    assert slow == [("int_disclosure__cells", 71.0), ("fsq_construct_scores", 1.7)]
    lines: list[str] = []
    t = Timings(lines.append, substeps={"build": [("warehouse_models", 75.0), ("documents", 8.0)]}, dbt_slowest=slow)
    t.steps.append(("build", 90.0))
    t.summary()
    at = next(i for i, ln in enumerate(lines) if "warehouse_models" in ln)
    assert lines[at + 1].split() == ["int_disclosure__cells", "71.0s"]
    assert lines[at + 2].split() == ["fsq_construct_scores", "1.7s"] and "documents" in lines[at + 3]


def test_reading_an_invocation_passes_every_item_on_and_drops_dagster_dbts_copy_of_each_line(capsys):
    class Invocation:                    # dagster-dbt's DbtCliInvocation, as far as reading() uses it
        def _stream_stdout(self):
            yield _result("slow_model", 2.0, 1, total=1)
            yield "a warning of the dbt process"

        def stream(self):
            for item in self._stream_stdout():
                print(item)              # dagster-dbt echoes each line of dbt's output to stdout
                yield item
    lines: list[str] = []
    inv = Invocation()
    with DbtProgress(lines.append).reading(inv):
        got = list(inv.stream())
    assert len(got) == 2 and capsys.readouterr().out == ""
    assert lines[:2] == ["dbt: model slow_model done in 2.0s [1 of 1]", "dbt: a warning of the dbt process"]
    assert lines[-1].startswith("dbt: 1 of 1 nodes done in ")
    assert inv._stream_stdout.__name__ == "_stream_stdout"       # put back
    lines.clear()
    with DbtProgress(lines.append).reading(object()):            # no such method: nothing read, nothing dropped
        print("kept")
    assert capsys.readouterr().out == "kept\n"


def _event(kind: str, step: str, **data):
    return SimpleNamespace(dagster_event=SimpleNamespace(step_key=step, event_type_value=kind,
                                                         event_specific_data=SimpleNamespace(**data)))


def test_the_run_says_what_is_still_running_after_a_minute_without_a_line():
    """runner.Timings.beat (called by the run's heartbeat thread every WAKE s), injected clock: the
    run's own step, then a Dagster step through the listener; a step that says its own progress
    (dbt's) is left to it; a failed step's seconds are from its start (Dagster's failure has none)."""
    from pipelines.runner import Timings, _step_progress
    clock, lines = Clock(), []
    t = Timings(lines.append, now=clock, t0=clock())
    t.beat()
    assert lines == []                                   # nothing started: nothing to say
    t.start("ingest returns")
    for _ in range(11):
        clock.t += 5
        t.beat()
    assert lines == ["[   0.0s] ingest returns ..."]      # 55 s: not yet
    clock.t += 5
    t.beat()
    assert lines[-1] == "[  60.0s] ingest returns still running (1m0s)"
    for _ in range(12):                                  # a line every 30 s: no heartbeat between them
        clock.t += 30
        t.say("  returns 2025-26 R3: 4,000 rows current")
        t.beat()
    assert len(lines) == 14
    clock.t += 60
    t.beat()
    assert lines[-1] == "[ 480.0s] ingest returns still running (8m0s)"
    t.start("build 9 assets (3 dbt models), check, publish")
    on_event = _step_progress(t.say, t)
    on_event(_event("STEP_START", "fsq_ingest"))
    clock.t += 125
    t.beat()
    assert lines[-2:] == ["[ 480.0s]   step fsq_ingest started", "[ 605.0s]   step fsq_ingest still running (2m5s)"]
    on_event(_event("STEP_SUCCESS", "fsq_ingest", duration_ms=130_000))
    on_event(_event("STEP_START", "warehouse_models"))
    clock.t += 90                                        # dbt silent at its start (a parse): its own heartbeat says it
    t.beat()
    assert lines[-1] == "[ 605.0s]   step warehouse_models started"
    on_event(SimpleNamespace(dagster_event=None, user_message=NOTE + "dbt: model x done in 2.0s [1 of 9]"))
    clock.t += 300
    t.beat()
    assert lines[-1] == "[ 695.0s]     dbt: model x done in 2.0s [1 of 9]"   # dbt says its own heartbeat
    on_event(_event("STEP_START", "documents"))
    clock.t += 42.5
    on_event(_event("STEP_FAILURE", "documents", error=None))   # as an interrupt's: no duration_ms
    assert lines[-1] == "[1037.5s]   step documents FAILED in 42.5s"
    clock.t += 61
    t.beat()
    assert lines[-1] == "[1098.5s] build 9 assets (3 dbt models), check, publish still running (10m18s)"
    t.summary()
    assert any(ln.split() == ["documents", "42.5s"] for ln in lines), lines
