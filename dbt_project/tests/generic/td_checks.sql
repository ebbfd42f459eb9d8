{#- Every row check of one model in one test (one dbt node, one Dagster check, one scan of the
    model plus one grouping per uniqueness rule), instead of one test per column and rule:
      not_null         columns with no null (was: not_null per column, td_not_null)
      unique           a column name: no repeated non-null value (was: unique); a list of
                       columns: no repeated combination, nulls included (was: td_unique_combination)
      accepted_values  {column: [values]}: every non-null value is one of them (was: accepted_values)
      rules            SQL booleans every row satisfies; null counts as broken (was:
                       td_expression_is_true, td_rules)
      min_rows         the model has at least this many rows (was: td_rules min_rows)
      references       {column: [model or seed, its column]}: every non-null value is in that
                       column (was: relationships, one more node per column on the build's path)
      by_leaving_year  the model's rows of a leaving year change only when that year is rebuilt,
                       and every uniqueness key holds leaving_year. Default: the model's own
                       materialization is by_leaving_year (macros/by_leaving_year.sql); true for a
                       staging view of the returns, which has none. A build of some leaving years
                       (DESTINATIONS_BUILD_LEAVING_YEARS) checks only their rows: the other years'
                       rows are those the last successful build checked. min_rows counts every row.
    Fails with one row per broken check, naming it, and how many rows (or repeated keys) break it. -#}
{% test td_checks(model, not_null=[], unique=[], accepted_values={}, rules=[], min_rows=0, references={}, by_leaving_year=none) %}
{%- if by_leaving_year is none and execute %}
    {%- set tested = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
        | selectattr('schema', 'equalto', model.schema) | selectattr('alias', 'equalto', model.identifier) | list %}
    {%- set by_leaving_year = tested | length == 1 and tested[0].config.materialized == 'by_leaving_year' %}
{%- endif %}
{%- set years = build_leaving_years() if by_leaving_year else none %}
{%- if years is not none %}
    {%- for key in unique %}
        {%- if 'leaving_year' not in ([key] if key is string else key) %}
            {{ exceptions.raise_compiler_error("td_checks by_leaving_year on " ~ model ~ ": the unique key " ~ key ~ " has no leaving_year") }}
        {%- endif %}
    {%- endfor %}
{%- endif %}
{%- set checked -%}
    {%- if years is none -%} {{ model }}
    {%- else -%} (select * from {{ model }} where {{ leaving_years_in(years) }}) as checked_rows
    {%- endif -%}
{%- endset %}
with counts as (
    select
        {% if years is none or not min_rows -%} count(*) {%- else -%} (select count(*) from {{ model }}) {%- endif %} as row_count
    {%- for column in not_null %},
        count(*) filter (where {{ column }} is null) as not_null_{{ loop.index }}
    {%- endfor %}
    {%- for column, values in accepted_values.items() %},
        count(*) filter (where {{ column }} is not null and {{ column }} not in (
            {%- for v in values %}'{{ v | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor %})) as accepted_{{ loop.index }}
    {%- endfor %}
    {%- for expression in rules %},
        count(*) filter (where not coalesce(({{ expression }}), false)) as rule_{{ loop.index }}
    {%- endfor %}
    {%- for column, target in references.items() %},
        count(*) filter (where {{ column }} is not null and {{ column }} not in (
            select {{ target[1] }} from {{ ref(target[0]) }} where {{ target[1] }} is not null)) as reference_{{ loop.index }}
    {%- endfor %}
    from {{ checked }}
),

checks as (
    select 'at least {{ min_rows }} rows' as check_name,
           case when row_count < {{ min_rows }} then 1 else 0 end as failing_rows
    from counts
    {%- for column in not_null %}
    union all
    select 'not null: {{ column | replace("'", "''") }}', not_null_{{ loop.index }} from counts
    {%- endfor %}
    {%- for column, values in accepted_values.items() %}
    union all
    select 'accepted values: {{ column | replace("'", "''") }}', accepted_{{ loop.index }} from counts
    {%- endfor %}
    {%- for expression in rules %}
    union all
    select 'rule: {{ expression | replace("'", "''") }}', rule_{{ loop.index }} from counts
    {%- endfor %}
    {%- for column, target in references.items() %}
    union all
    select 'references: {{ column | replace("'", "''") }} in {{ target[0] }}.{{ target[1] }}', reference_{{ loop.index }} from counts
    {%- endfor %}
    {%- for key in unique %}
    {%- set columns = [key] if key is string else key %}
    union all
    select 'unique: {{ columns | join(", ") | replace("'", "''") }}', count(*)
    from (
        select {{ columns | join(', ') }}
        from {{ checked }}
        {%- if key is string %}
        where {{ key }} is not null
        {%- endif %}
        group by all
        having count(*) > 1
    )
    {%- endfor %}
)

select check_name, failing_rows
from checks
where failing_rows > 0
{% endtest %}
