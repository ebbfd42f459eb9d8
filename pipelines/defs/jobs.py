"""Jobs: ingest one leaving year x round of returns; build and publish everything else."""
import dagster as dg

from pipelines.defs.partitions import return_partitions

PARTITIONED_INGEST = dg.AssetSelection.assets("destination_returns")

ingest_returns_job = dg.define_asset_job(
    "ingest_returns", selection=PARTITIONED_INGEST, partitions_def=return_partitions,
    description="Validate and load the returns of one leaving year x round.")

build_warehouse_job = dg.define_asset_job(
    "build_warehouse", selection=dg.AssetSelection.all() - PARTITIONED_INGEST,
    description="Register, benchmarks, FSQ/Compass, dbt build, checks, publish, reports.")
