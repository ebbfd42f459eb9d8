"""The dbt resource starts dbt once per build: no `dbt --version` subprocess and no dbt adapter
opened in the Dagster process before the build (dagster-dbt uses the adapter only for row counts
and column metadata, which the dbt asset never asks for)."""
import re
import subprocess
import sys
from pathlib import Path


def test_the_dbt_resource_knows_the_version_without_starting_dbt(monkeypatch):
    from pipelines.config import DBT_PROJECT_DIR
    from pipelines.defs.resources import TrustDbtCliResource
    dbt = str(Path(sys.executable).parent / "dbt")
    reported = subprocess.run([dbt, "--version"], capture_output=True, text=True, check=True).stdout
    installed = re.search(r"installed:\s*(\d+\.\d+\.\d+)", reported).group(1)

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"a subprocess was started: {args}")
    monkeypatch.setattr(subprocess, "check_output", no_subprocess)
    monkeypatch.setattr(subprocess, "run", no_subprocess)
    res = TrustDbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt)
    assert str(res._cli_version) == installed
    assert res._cli_version.major < 2            # dbt Core, not Fusion: the dbt asset relies on it
    assert res._initialize_dbt_core_adapter(["build"]) is None


def test_the_build_job_uses_the_lean_dbt_resource():
    from pipelines.defs.resources import TrustDbtCliResource
    from pipelines.definitions import defs
    loaded = defs()
    assert isinstance(loaded.resources["dbt"], TrustDbtCliResource)
    job = loaded.resolve_job_def("build_warehouse")
    assert job.resource_defs["dbt"].configurable_resource_cls is TrustDbtCliResource


LOAD_WITHOUT_DBT = """
import sys
from pipelines.runner import load_definitions
defs = load_definitions()
import dagster_dbt.compat
loaded = sorted(m for m in sys.modules if m == "dbt" or m.startswith("dbt."))
job = defs.resolve_job_def("build_warehouse")
checks = sum(1 for k in defs.resolve_asset_graph().asset_check_keys)
import dbt.version            # later imports in the process still work
print(dagster_dbt.compat.DBT_PYTHON_VERSION, loaded, checks > 0, dbt.version.__version__ is not None)
"""


def test_a_run_loads_the_definitions_without_importing_dbt_core():
    """`destinations run` never runs dbt in its own process (the launcher and the warm dbt process do):
    its definitions load skips dbt-core's import (dagster-dbt's own enums), ~1.7 s at `large`. The dbt
    asset and its checks are there all the same; the build's events are read with dagster-dbt's enums
    (the run tests check every model's materialisation and check result)."""
    out = subprocess.run([sys.executable, "-c", LOAD_WITHOUT_DBT], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout.split()
    assert out[0] == "None"                       # dagster-dbt saw no dbt-core
    assert out[1] in ("[]", "['dbt']")            # nothing of dbt-core imported (at most the namespace)
    assert out[2:] == ["True", "True"]
