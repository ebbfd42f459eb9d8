-- destination_reconciliation_flows with disclosure control: a frame under the minimum cohort
-- is c; flows of 1-2 pupils are c; flows out of one source (and into one target) are
-- protected against subtraction from the frame and node totals.
{%- set frame = ["level", "coalesce(academy_urn, 'trust')", "leaving_year", "key_stage", "intended_round"] %}

with

flows as (
    select row_number() over (order by level, academy_urn, leaving_year, key_stage, intended_round, source_group, target_group) as _pub_row_id, *
    from {{ ref('destination_reconciliation_flows') }}
),

{{ td_publish_suppressed(
    source='flows',
    row_id='_pub_row_id',
    measures=['frame_pupils', 'pupils'],
    denominator='frame_pupils',
    sibling_sets=[
        {'partition': frame + ['source_group']},
        {'partition': frame + ['target_group']},
        {'partition': frame},
        {'partition': ['leaving_year', 'key_stage', 'intended_round', 'source_group', 'target_group'],
         'where': "level = 'academy' and counts_in_trust_totals"},
    ],
) }}

select * from published
