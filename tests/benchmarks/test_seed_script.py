"""The committed seed is exactly what the extraction script makes from the public files
(the committed copy came from an earlier run, so equality also shows the script is deterministic)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import REPO_ROOT, SHARED


def test_seed_extraction_is_deterministic_and_matches_commit(tmp_path):
    if not SHARED.exists():
        pytest.skip("public files not available")
    out, la = tmp_path / "seed.csv", tmp_path / "la_codes.csv"
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "extract_benchmark_seed.py"),
                           "--data", str(SHARED), "--out", str(out), "--la-codes", str(la)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == (REPO_ROOT / "pipelines" / "reference" / "benchmark_seed.csv").read_bytes()
    assert la.read_bytes() == (REPO_ROOT / "pipelines" / "lib" / "benchmarks" / "la_codes.csv").read_bytes()
    assert out.read_text().startswith("source,publication,is_latest,leaving_year,period,geography_level")
