{#-
  The row grain of every aggregate mart the disclosure engine protects: one home in dbt for the
  key lists pipelines/lib/disclosure/structure.py declares (MartSpec.keys; a test keeps the two
  equal). td_publish pivots decisions back by these keys; td_same_row joins two relations of a
  mart family on them.
-#}
{% macro td_mart_keys(mart) -%}
    {%- set bd = ['breakdown_topic', 'breakdown'] -%}
    {%- set keys = {
        'destination_measures': ['level', 'academy_urn', 'leaving_year', 'key_stage', 'round'] + bd,
        'neet_not_known': ['level', 'academy_urn', 'leaving_year', 'key_stage', 'round'] + bd,
        'fsq_destination_rates': ['level', 'academy_urn', 'leaving_year', 'key_stage', 'readiness_band'] + bd,
        'fsq_construct_scores': ['level', 'academy_urn', 'academic_year', 'survey_round', 'year_group',
                                 'construct'] + bd,
        'goal_progress': ['goal_id', 'level', 'academy_urn', 'leaving_year', 'round'],
        'destination_reconciliation_rates': ['level', 'academy_urn', 'leaving_year', 'key_stage',
                                             'intended_round'] + bd,
        'destination_reconciliation_flows': ['level', 'academy_urn', 'leaving_year', 'key_stage',
                                             'intended_round', 'source_group', 'target_group'],
        'destination_routes': ['level', 'academy_urn', 'leaving_year', 'key_stage', 'round', 'route'],
        'destination_providers': ['level', 'academy_urn', 'leaving_year', 'key_stage', 'round',
                                  'destination_group', 'provider'],
        'neet_risk_rates': ['level', 'academy_urn', 'leaving_year', 'key_stage'] + bd,
    } -%}
    {%- if mart not in keys -%}
        {{ exceptions.raise_compiler_error("td_mart_keys: no row grain for mart '" ~ mart ~ "'") }}
    {%- endif -%}
    {{ return(keys[mart]) }}
{%- endmacro %}


{#- A join condition: rows of `left` and `right` with the same `keys` (a list of column names).
    academy_urn and level_urn are null on trust rows, so they match with `is not distinct from`. -#}
{% macro td_same_row(left, right, keys) -%}
    {%- for k in keys %}
        {{- ' and ' if not loop.first }}{{ left }}.{{ k }} {{ 'is not distinct from' if k in ('academy_urn', 'level_urn') else '=' }} {{ right }}.{{ k }}
    {%- endfor %}
{%- endmacro %}
