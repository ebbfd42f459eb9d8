-- goal_progress with disclosure control (macros/suppression.sql): a denominator under the
-- minimum cohort, or a numerator (or denominator minus numerator) of 1-2, is c; academy rows
-- are protected against subtraction from the trust row.
with

progress as (
    select row_number() over (order by goal_id, level, academy_urn, leaving_year, round) as _pub_row_id, *
    from {{ ref('goal_progress') }}
),

{{ td_publish_suppressed(
    source='progress',
    row_id='_pub_row_id',
    measures=['denominator', 'numerator'],
    denominator='denominator',
    sibling_sets=[
        {'partition': ['goal_id', 'leaving_year', 'round'],
         'where': "level = 'academy' and counts_in_trust_totals"},
    ],
    extra_null_when_row_suppressed=['share_pct', 'is_on_track', 'vs_comparator_pp'],
) }}

select
    published.* replace (
        case when list_contains(suppressed_measures, 'numerator') then null else share_pct end as share_pct,
        case when list_contains(suppressed_measures, 'numerator') then null else is_on_track end as is_on_track,
        case when list_contains(suppressed_measures, 'numerator') then null else vs_comparator_pp end
            as vs_comparator_pp
    )
from published
