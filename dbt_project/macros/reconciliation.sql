{#- Intended vs actual outcome of one pupil (first matching rule wins):
      no intention recorded  not in the intended return, or intended UND
      not in actual return   in the intended return, missing from the actual one
      became not known       actual code is not known (810-830)
      became NEET            actual NEET and the intention was not NEET
      realised               actual in the intended destination sub-group
      changed route          anything else (from -> to in the flow table) -#}
{% macro reconciliation_outcome(intended_group, intended_sub_group, actual_group, actual_sub_group,
                                in_intended, in_actual) -%}
    case
        when not {{ in_intended }} or {{ intended_group }} = 'undecided' then 'no intention recorded'
        when not {{ in_actual }} then 'not in actual return'
        when {{ actual_group }} = 'not_known' then 'became not known'
        when {{ actual_group }} = 'neet' and {{ intended_group }} <> 'neet' then 'became NEET'
        when {{ actual_sub_group }} = {{ intended_sub_group }} then 'realised'
        else 'changed route'
    end
{%- endmacro %}

{#- The outcome categories, in reading order, with their count column names. -#}
{% macro reconciliation_outcomes() %}
    {{ return([
        ('realised', 'realised'),
        ('changed route', 'changed_route'),
        ('became NEET', 'became_neet'),
        ('became not known', 'became_not_known'),
        ('no intention recorded', 'no_intention_recorded'),
        ('not in actual return', 'not_in_actual_return'),
    ]) }}
{% endmacro %}
