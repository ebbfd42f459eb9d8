{#- The destination counts of contract §7, each a condition on the code's group or sub-group
    (seeds/destination_codes.csv). Used for intended and actual rounds alike. -#}
{% macro destination_count_definitions() %}
    {{ return([
        ('education', "destination_group = 'education'"),
        ('school_sixth_form', "destination_sub_group = 'school_sixth_form'"),
        ('sixth_form_college', "destination_sub_group = 'sixth_form_college'"),
        ('further_education', "destination_sub_group = 'further_education'"),
        ('higher_education', "destination_sub_group = 'higher_education'"),
        ('other_education', "destination_sub_group = 'other_education'"),
        ('apprenticeship', "destination_group = 'apprenticeship'"),
        ('employment', "destination_group = 'employment'"),
        ('training', "destination_group = 'training'"),
        ('positive', "destination_group in ('education', 'apprenticeship', 'employment', 'training')"),
        ('neet', "destination_group = 'neet'"),
        ('not_known', "destination_group = 'not_known'"),
        ('other', "destination_group = 'other'"),
        ('undecided', "destination_group = 'undecided'"),
        ('excluded', "destination_group = 'excluded'"),
    ]) }}
{% endmacro %}

{#- `count_if(<condition>) as <name>` for each destination count. -#}
{% macro destination_count_columns() %}
    {%- for name, condition in destination_count_definitions() %}
        count_if({{ condition }}) as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
{% endmacro %}

{#- Unrounded share of `denominator` (0-100 double); null when the denominator is 0, or
    `empty` (e.g. 0.0, as DfE publishes 0% for an empty cohort) if given. -#}
{% macro pct(numerator, denominator, empty=none) -%}
    case when {{ denominator }} > 0 then cast({{ numerator }} as double) * 100 / {{ denominator }}
        {%- if empty is not none %} else {{ empty }}{% endif %} end
{%- endmacro %}

{#- NCCIS-style NEET counts (research/domain.md §9.1), each a condition on a pupil row: the
    denominator leaves out codes with in_neet_denominator = false (710 custody, 720 historic). -#}
{% macro neet_count_definitions() %}
    {{ return([
        ('cohort', "true"),
        ('excluded', "not in_neet_denominator"),
        ('neet_denominator', "in_neet_denominator"),
        ('neet', "destination_group = 'neet'"),
        ('neet_active', "destination_sub_group = 'neet_active'"),
        ('neet_inactive', "destination_sub_group = 'neet_inactive'"),
        ('not_known', "destination_group = 'not_known'"),
        ('neet_not_known', "destination_group in ('neet', 'not_known')"),
    ]) }}
{% endmacro %}
