"""The public release decision (each academy's website statement), from the same disclosure
engine as every published cell: the published decision carried over, plus the engine run on the
statement's rows with the stricter td:public:* thresholds (pipelines/lib/disclosure/public.py).
public_destination_statement only formats these cells."""
from pipelines.lib.disclosure.public import statement_cells


def model(dbt, session):
    dbt.config(materialized="table")
    cells = statement_cells(dbt.ref("destination_measures").pl(), dbt.ref("int_disclosure__cells").pl(),
                            min_cohort=int(dbt.config.get("min_cohort")),
                            min_count=int(dbt.config.get("min_count")))
    return cells.to_arrow()
