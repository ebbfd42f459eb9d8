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

{#- NCCIS-style NEET counts of pupil rows (research/domain.md §9.1): the denominator leaves out
    codes with in_neet_denominator = false (710 custody, 720 historic). -#}
{% macro neet_count_columns() %}
        count(*) as cohort,
        count_if(not in_neet_denominator) as excluded,
        count_if(in_neet_denominator) as neet_denominator,
        count_if(destination_group = 'neet') as neet,
        count_if(destination_sub_group = 'neet_active') as neet_active,
        count_if(destination_sub_group = 'neet_inactive') as neet_inactive,
        count_if(destination_group = 'not_known') as not_known,
        count_if(destination_group in ('neet', 'not_known')) as neet_not_known
{% endmacro %}
