-- destination_routes with disclosure control (macros/suppression.sql): routes of one frame
-- add up to frame_pupils, and academies add up to the trust row of the same route.
{%- set frame = ["level", "coalesce(academy_urn, 'trust')", "leaving_year", "key_stage", "round"] %}

with

routes as (
    select
        row_number() over (
            order by level, academy_urn nulls first, leaving_year, key_stage, round, route
        ) as _pub_row_id,
        *
    from {{ ref('destination_routes') }}
),

{{ td_publish_suppressed(
    source='routes',
    row_id='_pub_row_id',
    measures=['frame_pupils', 'pupils'],
    denominator='frame_pupils',
    pct_measures=['pupils'],
    sibling_sets=[
        {'partition': frame},
        {'partition': ['leaving_year', 'key_stage', 'round', 'route'],
         'where': "level = 'academy' and counts_in_trust_totals"},
    ],
) }}

select * from published
