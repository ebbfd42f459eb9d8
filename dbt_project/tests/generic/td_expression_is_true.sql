{#- Every row satisfies `expression` (dbt_utils.expression_is_true, without the package).
    Works on a model or on a column (the column name is then only a label). -#}
{% test td_expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
