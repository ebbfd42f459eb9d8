{#- Every row satisfies every one of `expressions` (SQL booleans over one row), and the model
    has at least `min_rows` rows: one scan of the model for all of them (instead of one
    td_expression_is_true test per rule). Fails with one row per broken rule and how many rows
    break it. -#}
{% test td_rules(model, expressions, min_rows=0) %}
with failing as (
    select
        count(*) as row_count
    {%- for expression in expressions %},
        count(*) filter (where not coalesce(({{ expression }}), false)) as rule_{{ loop.index }}
    {%- endfor %}
    from {{ model }}
)

select rule, failing_rows
from (
    select 'at least {{ min_rows }} rows' as rule, case when row_count < {{ min_rows }} then 1 else 0 end as failing_rows
    from failing
    {%- for expression in expressions %}
    union all
    select '{{ expression | replace("'", "''") }}' as rule, rule_{{ loop.index }} as failing_rows from failing
    {%- endfor %}
)
where failing_rows > 0
{% endtest %}
