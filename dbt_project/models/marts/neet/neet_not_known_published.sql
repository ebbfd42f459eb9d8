-- neet_not_known with disclosure control (macros/suppression.sql); comparators stay shown.
{%- set frame = ["level", "coalesce(academy_urn, 'trust')", "leaving_year", "key_stage", "round"] %}

with

rates as (
    select row_number() over (order by level, academy_urn, leaving_year, key_stage, round, breakdown_topic, breakdown) as _pub_row_id, *
    from {{ ref('neet_not_known') }}
),

{{ td_publish_suppressed(
    source='rates',
    row_id='_pub_row_id',
    measures=['neet_denominator', 'cohort', 'excluded', 'neet', 'neet_active', 'neet_inactive',
              'not_known', 'neet_not_known'],
    denominator='neet_denominator',
    pct_measures=['neet', 'not_known', 'neet_not_known'],
    hierarchy=[
        ['cohort', ['neet_denominator', 'excluded']],
        ['neet_not_known', ['neet', 'not_known']],
        ['neet', ['neet_active', 'neet_inactive']],
    ],
    sibling_sets=breakdown_sibling_sets(frame, ['leaving_year', 'key_stage', 'round']),
) }}

select * from published
