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
