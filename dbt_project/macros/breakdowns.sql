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
