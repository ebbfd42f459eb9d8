"""The public release decision (each academy's website statement), from the same disclosure
engine as every published cell: the published decision carried over, plus the engine run on the
statement's rows with the stricter td:public:* thresholds (pipelines/lib/disclosure/public.py).
public_destination_statement only formats these cells.

Incremental where the work is: the engine keeps each leaving year's decision in its own cache
file beside int_disclosure__cells' (DESTINATIONS_DISCLOSURE_CACHE; unset: a cold run), so a
corrected return recomputes its leaving year's rows only; the table itself (~10k rows) is
rewritten whole, which costs less than dbt's incremental steps would."""
import os

from pipelines.lib.disclosure.public import STATEMENT_ROWS_SQL, first_actual_round, public_cache_path, statement_cells
from pipelines.lib.scratch import scratch


def model(dbt, session):
    dbt.config(materialized="table")
    measures = dbt.ref("destination_measures")
    # the statement's round, then only its academy Total rows: read in DuckDB, not the whole mart
    first = first_actual_round(measures.filter("round_kind = 'actual'").select("round, round_kind, round_order")
                               .distinct().pl())
    rows = measures.filter(f"{STATEMENT_ROWS_SQL} and round = '{first.replace(chr(39), chr(39) * 2)}'") \
        if first is not None else measures.limit(0)
    # only the published cells a statement can print: academy Total rows of destination_measures
    published = dbt.ref("int_disclosure__cells").filter(
        "mart = 'destination_measures' and starts_with(row_key, 'academy|') and ends_with(row_key, '|Total|Total')"
    ).select("mart, row_key, measure, hidden")
    with scratch("disclosure-public") as tmp:   # a killed run's: removed by the next
        cache = public_cache_path(os.environ.get("DESTINATIONS_DISCLOSURE_CACHE")) or os.path.join(tmp, "cache.sqlite")
        cells = statement_cells(rows.pl(), published.pl(), min_cohort=int(dbt.config.get("min_cohort")),
                                min_count=int(dbt.config.get("min_count")), first=first, cache_path=cache)
    return cells.to_arrow()
