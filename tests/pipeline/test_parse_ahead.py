"""`destinations run` starts a needed `dbt parse` before the returns ingest, on a thread (the parse is a
subprocess: it runs on the other core while the returns load), and waits for it before loading the
definitions; with a current manifest it starts nothing."""
import threading

import pytest

from pipelines import runner
from pipelines.lib import dbt_manifest


@pytest.fixture
def parse_calls(monkeypatch):
    calls: list[str] = []
    release = threading.Event()

    def fake_ensure_manifest(force=False):
        calls.append(threading.current_thread().name)
        release.wait(5)
        return dbt_manifest.MANIFEST

    monkeypatch.setattr(dbt_manifest, "ensure_manifest", fake_ensure_manifest)
    return calls, release


def test_a_stale_manifest_is_parsed_on_a_thread_while_the_caller_goes_on(monkeypatch, parse_calls):
    calls, release = parse_calls
    monkeypatch.setattr(dbt_manifest, "manifest_current", lambda: False)
    thread = runner._parse_ahead()
    assert thread is not None
    assert thread.is_alive()          # the caller is not held up by the parse
    release.set()
    thread.join(5)
    assert not thread.is_alive()
    assert calls == ["dbt-parse"]     # parsed once, off the caller's thread


def test_a_current_manifest_starts_no_parse(monkeypatch, parse_calls):
    calls, _ = parse_calls
    monkeypatch.setattr(dbt_manifest, "manifest_current", lambda: True)
    assert runner._parse_ahead() is None
    assert calls == []


def test_a_failed_parse_ahead_is_left_to_the_definitions_load(monkeypatch):
    """The thread swallows the failure; the definitions load parses again and reports it."""
    raised: list = []
    monkeypatch.setattr(threading, "excepthook", lambda args: raised.append(args.exc_value))
    monkeypatch.setattr(dbt_manifest, "manifest_current", lambda: False)

    def broken(force=False):
        raise RuntimeError("dbt parse failed: boom")

    monkeypatch.setattr(dbt_manifest, "ensure_manifest", broken)
    thread = runner._parse_ahead()
    thread.join(5)
    assert raised == []
    with pytest.raises(RuntimeError, match="boom"):
        dbt_manifest.ensure_manifest()


def test_manifest_current_follows_the_project_files(tmp_path, monkeypatch):
    """manifest_current: the manifest exists and is at least as new as every project file."""
    import os

    manifest = tmp_path / "manifest.json"
    monkeypatch.setattr(dbt_manifest, "MANIFEST", manifest)
    monkeypatch.setattr(dbt_manifest, "_newest_source_mtime", lambda: 1000.0)
    assert not dbt_manifest.manifest_current()          # missing
    manifest.write_text("{}")
    os.utime(manifest, (999.0, 999.0))
    assert not dbt_manifest.manifest_current()          # older than a model
    os.utime(manifest, (1000.0, 1000.0))
    assert dbt_manifest.manifest_current()
