-- neet_risk_rates with disclosure control (macros/suppression.sql).
{%- set frame = ["level", "coalesce(academy_urn, 'trust')", "leaving_year", "key_stage"] %}

with

rates as (
    select row_number() over (order by level, academy_urn, leaving_year, key_stage, breakdown_topic, breakdown) as _pub_row_id, *
    from {{ ref('neet_risk_rates') }}
),

{{ td_publish_suppressed(
    source='rates',
    row_id='_pub_row_id',
    measures=['pupils', 'flagged'],
    denominator='pupils',
    pct_measures=['flagged'],
    sibling_sets=breakdown_sibling_sets(frame, ['leaving_year', 'key_stage']),
    extra_null_when_row_suppressed=['mean_risk_score'],
) }}

select * from published
