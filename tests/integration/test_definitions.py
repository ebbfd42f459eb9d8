"""The Dagster code location loads and is wired the way the runner and the UI expect."""
import dagster as dg

from pipelines.definitions import defs
from pipelines.lib.dbt_manifest import mart_models


def test_definitions_load_with_jobs_and_single_writer():
    d = defs()
    keys = {k.to_user_string() for k in d.resolve_all_asset_keys()}
    assert {"academies", "rounds", "destination_returns", "destination_measures", "serving_snapshot"} <= keys
    assert d.resolve_job_def("returns_landing_ingest").partitions_def is not None
    build = d.resolve_job_def("build_warehouse")
    assert "destination_returns" not in {k.to_user_string() for k in build.asset_layer.executable_asset_keys}
    assert build.executor_def.name == dg.in_process_executor.name


def test_publish_depends_on_every_mart():
    d = defs()
    graph = d.resolve_asset_graph()
    upstream = {k.to_user_string() for k in graph.get(dg.AssetKey("serving_snapshot")).parent_keys}
    marts = set(mart_models())
    assert "destination_measures" in marts
    assert marts <= upstream


def test_dbt_source_is_fed_by_python_asset():
    graph = defs().resolve_asset_graph()
    parents = {k.to_user_string() for k in graph.get(dg.AssetKey("stg_returns__destination_returns")).parent_keys}
    assert "destination_returns" in parents
