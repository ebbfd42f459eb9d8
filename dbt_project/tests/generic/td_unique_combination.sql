{#- No row repeats the combination of `columns` (dbt_utils.unique_combination_of_columns, without the package). -#}
{% test td_unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by all
having count(*) > 1
{% endtest %}
