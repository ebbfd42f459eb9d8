"""The public release decision (each academy's website statement), from the same disclosure
engine as every published cell: the published decision carried over, plus the engine run on the
statement's rows with the stricter td:public:* thresholds (pipelines/lib/disclosure/public.py).
public_destination_statement only formats these cells."""
from pipelines.lib.disclosure.public import statement_cells


def model(dbt, session):
    dbt.config(materialized="table")
    # only the published cells a statement can print: academy Total rows of destination_measures
    published = dbt.ref("int_disclosure__cells").filter(
        "mart = 'destination_measures' and row_key like 'academy|%|Total|Total'")
    cells = statement_cells(dbt.ref("destination_measures").pl(), published.pl(),
                            min_cohort=int(dbt.config.get("min_cohort")),
                            min_count=int(dbt.config.get("min_count")))
    return cells.to_arrow()
