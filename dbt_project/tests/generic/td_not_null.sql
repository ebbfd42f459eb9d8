{#- No null in any of `columns`: one scan of the model for all of them (instead of one
    not_null test per column). Fails with one row per column that has nulls and how many. -#}
{% test td_not_null(model, columns) %}
with null_counts as (
    select
    {%- for column in columns %}
        count(*) filter (where {{ column }} is null) as {{ column }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
)

select column_name, null_rows
from (unpivot null_counts on columns(*) into name column_name value null_rows)
where null_rows > 0
{% endtest %}
