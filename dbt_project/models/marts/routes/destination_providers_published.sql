-- destination_providers with disclosure control (macros/suppression.sql): providers of one
-- frame add up to frame_pupils, and academies add up to the trust row of the same provider.
{%- set frame = ["level", "coalesce(academy_urn, 'trust')", "leaving_year", "key_stage", "round",
                 "destination_group"] %}

with

providers as (
    select
        row_number() over (
            order by level, academy_urn nulls first, leaving_year, key_stage, round,
                destination_group, provider
        ) as _pub_row_id,
        *
    from {{ ref('destination_providers') }}
),

{{ td_publish_suppressed(
    source='providers',
    row_id='_pub_row_id',
    measures=['frame_pupils', 'pupils'],
    denominator='frame_pupils',
    sibling_sets=[
        {'partition': frame},
        {'partition': ['leaving_year', 'key_stage', 'round', 'destination_group', 'provider'],
         'where': "level = 'academy' and counts_in_trust_totals"},
    ],
) }}

select * from published
