import pytest

from tests.returns.helpers import make_data_dir


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A fresh data directory with the test register; DESTINATIONS_DATA_DIR points at it."""
    root = tmp_path / "data"
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(root))
    monkeypatch.delenv("DESTINATIONS_CONFIG_DIR", raising=False)
    return make_data_dir(root)
