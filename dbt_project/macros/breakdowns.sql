{#- `cross join lateral` giving one row per breakdown topic with the pupil's breakdown in it
    (names as seeds/breakdowns.csv). `rel` must carry disadvantage_label, sen_provision_label,
    sex_label and ethnicity_major. -#}
{% macro breakdown_lateral(rel) -%}
    cross join lateral (
        values
            ('Total', 'Total'),
            ('Disadvantage', {{ rel }}.disadvantage_label),
            ('SEN provision', {{ rel }}.sen_provision_label),
            ('Sex', {{ rel }}.sex_label),
            ('Ethnicity major', {{ rel }}.ethnicity_major),
            ('Disadvantage and sex', {{ rel }}.disadvantage_label || ' ' || {{ rel }}.sex_label)
    ) as topic(breakdown_topic, breakdown)
{%- endmacro %}

{#- Sibling sets for suppression of a mart by breakdown: the breakdowns of a topic add up to
    its Total; Disadvantage and sex also adds up to each Disadvantage and each Sex row; and
    academy rows add up to the trust row. `frame` lists the columns fixing one table. -#}
{% macro breakdown_sibling_sets(frame, trust_partition) %}
    {{ return([
        {'partition': frame + ['breakdown_topic'], 'where': "breakdown_topic <> 'Total'"},
        {'partition': frame + ["regexp_extract(breakdown, '^(.*) (Female|Male)$', 1)"],
         'where': "breakdown_topic = 'Disadvantage and sex'"},
        {'partition': frame + ["regexp_extract(breakdown, '(Female|Male)$', 1)"],
         'where': "breakdown_topic = 'Disadvantage and sex'"},
        {'partition': trust_partition + ['breakdown_topic', 'breakdown'],
         'where': "level = 'academy' and counts_in_trust_totals"},
    ]) }}
{% endmacro %}
