"""Every published cell of every aggregate mart, in long form, with the one disclosure decision
(pipelines/lib/disclosure): hidden (c) or shown. The `*_published` models pivot from here
(macro td_publish), so suppression is chosen once, jointly across the linked marts, for every
audience. Thresholds: dbt vars td:suppression:min_cohort / td:suppression:min_count.
DESTINATIONS_DISCLOSURE_CACHE (set by the pipeline's dbt resource: a file beside the warehouse)
keeps each block's decision and each partition's cells (a leaving year; FSQ: academic year x
survey round x year group), so a rebuild
builds the structure of changed partitions only and recomputes only blocks whose cells changed;
the result is the same as a cold run. Unset (tests, dbt by hand): a cache in a temporary folder,
i.e. a cold run.

Incremental by partition: each row carries its partition's label and digest (of the rows the
engine read, its code and thresholds). A rebuild writes only the partitions whose digest the
table does not hold yet, so a corrected return rewrites its leaving year's cells, not all of
them; a partition no longer present (e.g. a leaving year past retention) is deleted. The model
writes them into the table itself (delete+insert on partition_label, each partition as the
engine finishes it, all in one transaction committed at the end: a failed run leaves the table
as it was) and returns no rows, so dbt's delete+insert has nothing to do: before, the cells went
to a temporary table, were copied to dbt's own temporary table and then to this one, three
copies after the engine's last block instead of one. A first build (no table yet) returns every
cell for dbt to create the table from, as before. A partition the table holds with its current digest
holds exactly the cells the engine would give it now (they are a function of that digest)."""
import os

import polars as pl

from pipelines.lib.dbt_cli import note
from pipelines.lib.disclosure.engine import OUTPUT_SCHEMA, duckdb_memory_limit, run
from pipelines.lib.disclosure.structure import MARTS, structure_columns
from pipelines.lib.scratch import scratch

CELLS_SCHEMA = OUTPUT_SCHEMA | {"partition_label": pl.Utf8, "partition_digest": pl.Utf8}
STREAM = "disclosure_cells_new"
COLUMNS = ", ".join(f'"{c}"' for c in CELLS_SCHEMA)


def insert_cells(session, target: str, cells: pl.DataFrame, label: str, digest: str) -> None:
    """One partition's cells (engine.OUTPUT_SCHEMA) inserted into `target` with its label and digest.
    Row order is irrelevant: not sorted (a copy of the partition). String views: DuckDB reads polars'
    text as it is (the default copies it, ~1 GB at national). The Arrow view is unregistered at once:
    registered, DuckDB keeps it, and with it the partition's cells, until the next partition's (at 800
    academies 0.2-0.3 GB held while the next partition's structure and blocks were made)."""
    session.register("disclosure_cells_part", cells.to_arrow(compat_level=pl.CompatLevel.newest()))
    try:
        session.execute(f"insert into {target} ({COLUMNS}) select *, ?, ? from disclosure_cells_part", [label, digest])
    finally:
        session.unregister("disclosure_cells_part")


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="delete+insert", unique_key="partition_label",
               on_schema_change="sync_all_columns")
    # dbt needs literal refs: one per mart of structure.MARTS (a test checks the two lists agree)
    refs = {
        "destination_measures": dbt.ref("destination_measures"),
        "neet_not_known": dbt.ref("neet_not_known"),
        "fsq_destination_rates": dbt.ref("fsq_destination_rates"),
        "fsq_construct_scores": dbt.ref("fsq_construct_scores"),
        "goal_progress": dbt.ref("goal_progress"),
        "destination_reconciliation_rates": dbt.ref("destination_reconciliation_rates"),
        "destination_reconciliation_flows": dbt.ref("destination_reconciliation_flows"),
        "neet_risk_rates": dbt.ref("neet_risk_rates"),
        "destination_routes": dbt.ref("destination_routes"),
        "destination_providers": dbt.ref("destination_providers"),
    }
    missing = sorted({spec.name for spec in MARTS} - set(refs))
    if missing:
        raise ValueError(f"int_disclosure__cells: no ref for mart(s) {', '.join(missing)} of the disclosure structure")
    # the columns the engine reads only (structure_columns, in the mart's order: what it digests),
    # (0.93 of the marts' 1.7 GB at national scale)
    frames = {}
    for spec in MARTS:
        wanted = set(structure_columns(spec))
        frames[spec.name] = refs[spec.name].select(*[f'"{c}"' for c in refs[spec.name].columns if c in wanted]).pl()
    written = {}
    direct = False   # the changed partitions written into the table here (see the docstring)
    if dbt.is_incremental:   # label -> digest of the cells the table holds (one digest per label)
        columns = {d[0] for d in session.execute(f"select * from {dbt.this} limit 0").description}
        if not {"partition_label", "partition_digest"} <= columns:
            # a table from before partitions: emptied here, its columns added by dbt, every partition written
            session.execute(f"delete from {dbt.this}")
        else:
            direct = True
            session.execute("begin transaction")
            session.execute(f"delete from {dbt.this} where partition_label is null or partition_digest is null")
            written = {label: low for label, low, high in session.execute(
                f"select partition_label, min(partition_digest), max(partition_digest) from {dbt.this} group by 1"
            ).fetchall() if low == high}
    # otherwise each partition's cells go to a temporary table of this connection (dropped when
    # dbt closes it) for dbt to create the table from; either way as the engine finishes them, so
    # no more than one partition's cells is ever held here
    # columns: engine.OUTPUT_SCHEMA's, then partition_label and partition_digest
    session.register("disclosure_cells_part", pl.DataFrame(schema=CELLS_SCHEMA).to_arrow())
    session.execute(f"create or replace temp table {STREAM} as select * from disclosure_cells_part")
    session.unregister("disclosure_cells_part")
    target = dbt.this if direct else STREAM

    emptied = set()

    def store(label, digest, cells):   # a partition's cells, in one call or a few (engine.STORE_SLICE_CELLS)
        if direct and label not in emptied:
            session.execute(f"delete from {target} where partition_label = ?", [label])
            emptied.add(label)
        insert_cells(session, target, cells, label, digest)

    # while the engine runs, DuckDB keeps at most DESTINATIONS_DUCKDB_ENGINE_MEMORY (what the models
    # before read and the cells written here, up to the profile's memory_limit otherwise: 4 GB at
    # national); the rest spills. The profile's limit (DESTINATIONS_DUCKDB_MEMORY) again after it
    lowered = duckdb_memory_limit(session, os.environ.get("DESTINATIONS_DUCKDB_ENGINE_MEMORY", "1GB"),
                                  os.environ.get("DESTINATIONS_DUCKDB_MEMORY", "4GB"))
    try:
        with lowered, scratch("disclosure") as tmp:   # a killed run's: removed by the next
            cache = os.environ.get("DESTINATIONS_DISCLOSURE_CACHE") or os.path.join(tmp, "cache.sqlite")
            result = run(frames, min_cohort=int(dbt.config.get("min_cohort")),
                         min_count=int(dbt.config.get("min_count")),
                         cache_path=cache, by_partition=True, written=written, on_partition=store,
                         on_progress=note)   # how far it has got, in the output of the run that started dbt
        dropped = result.stats["partitions_dropped"]   # labels the table holds that no longer exist
        if dropped:
            session.execute(f"delete from {dbt.this} where partition_label in ({', '.join('?' for _ in dropped)})",
                            dropped)
    except BaseException:
        if direct:
            session.execute("rollback")
        raise
    if direct:
        session.execute("commit")
    return session.table(STREAM)   # a relation: dbt-duckdb copies it in DuckDB, not through Python
