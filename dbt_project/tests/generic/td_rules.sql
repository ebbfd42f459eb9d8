{#- Every row satisfies every one of `expressions` (SQL booleans over one row): one scan of the
    model for all of them (instead of one td_expression_is_true test per rule). Fails with one
    row per broken rule and how many rows break it. -#}
{% test td_rules(model, expressions) %}
with failing as (
    select
    {%- for expression in expressions %}
        count(*) filter (where not coalesce(({{ expression }}), false)) as rule_{{ loop.index }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
)

select rule, failing_rows
from (
    {%- for expression in expressions %}
    select '{{ expression | replace("'", "''") }}' as rule, rule_{{ loop.index }} as failing_rows from failing
    {{- " union all" if not loop.last }}
    {%- endfor %}
)
where failing_rows > 0
{% endtest %}
