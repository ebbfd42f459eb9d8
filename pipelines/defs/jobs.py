"""The build job: everything except the partitioned returns ingest.

Returns are ingested per leaving year x round by `returns_landing_ingest`
(pipelines/defs/ingest/returns.py), run by the landing sensor and by `destinations run`.
"""
import dagster as dg

RETURNS_INGEST_JOB = "returns_landing_ingest"
PARTITIONED_INGEST = dg.AssetSelection.assets("destination_returns")

build_warehouse_job = dg.define_asset_job(
    "build_warehouse", selection=dg.AssetSelection.all() - PARTITIONED_INGEST,
    description="Register, benchmarks, FSQ/Compass, dbt build and checks, publish, trustee report.")
