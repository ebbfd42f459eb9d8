"""Every published cell of every aggregate mart, in long form, with the one disclosure decision
(pipelines/lib/disclosure): hidden (c) or shown. The `*_published` models pivot from here, so
suppression is chosen once, jointly across the linked marts, for every audience."""
from pipelines.lib.disclosure.engine import run
from pipelines.lib.disclosure.structure import MARTS


def model(dbt, session):
    dbt.config(materialized="table")
    frames = {spec.name: dbt.ref(spec.name).pl() for spec in MARTS}
    result = run(frames, min_cohort=int(dbt.config.get("min_cohort")), min_count=int(dbt.config.get("min_count")))
    return result.cells.select(
        "mart", "row_key", "measure", "measure_order", "value", "hidden", "reason",
    ).sort("mart", "row_key", "measure_order").to_arrow()
