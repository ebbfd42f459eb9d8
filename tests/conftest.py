"""Shared test settings: telemetry off, no persistent Dagster instance, ../shared located."""
import os
from pathlib import Path

os.environ["DO_NOT_TRACK"] = "1"
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"
os.environ.pop("DAGSTER_HOME", None)  # tests use ephemeral Dagster instances

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "research" / "data"
