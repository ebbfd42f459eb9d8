"""Dashboard fixtures: a contract-shaped serving snapshot plus users for every role."""
from __future__ import annotations

from pathlib import Path

import pytest

import dash_fixture_data as fixture_data




@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("dash_data")
    fixture_data.build(d)
    fixture_data.make_users(d)
    return d


@pytest.fixture()
def data_env(demo_dir, monkeypatch) -> Path:
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(demo_dir))
    monkeypatch.delenv("DESTINATIONS_USERS_FILE", raising=False)
    return demo_dir


@pytest.fixture(scope="session")
def creds(demo_dir) -> dict[str, str]:
    return {"admin": "admin-pass-123", "director": "director-pass-123",
            "alder": "alder-pass-123", "multi": "multi-pass-123"}
