from __future__ import annotations

import pytest

from pipelines.lib.generate import generate_trust


@pytest.fixture(scope="session")
def small_trust(tmp_path_factory):
    """The default demo trust (small scale, 4 leaving years + current R1)."""
    out = tmp_path_factory.mktemp("small")
    summary = generate_trust(out, seed=42, with_careers=False)
    return out, summary


@pytest.fixture(scope="session")
def large_trust(tmp_path_factory):
    """Large scale (about 90 secondaries) for statistical power."""
    out = tmp_path_factory.mktemp("large")
    summary = generate_trust(out, scale="large", years=3, seed=7, with_careers=False)
    return out, summary
