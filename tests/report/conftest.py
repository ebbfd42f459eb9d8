"""Report tests: the pack built once per session from the real pipeline snapshot."""
from __future__ import annotations

import pytest

from tests.report.helpers import Built


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Built:
    return Built(tmp_path_factory.mktemp("report"))
