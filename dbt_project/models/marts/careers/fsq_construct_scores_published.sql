-- fsq_construct_scores with disclosure control (macros/suppression.sql): a row with fewer than
-- td:suppression:min_cohort responding pupils is suppressed whole, with secondary suppression
-- across the breakdowns of a topic and the academies of the trust; positive_pct (and its
-- counts) is also suppressed when the positive or the non-positive answers number 1 .. min_count-1.
{%- set min_count = var('td:suppression:min_count', 3) | int %}

with

scores as (
    select
        row_number() over (order by level, academy_urn, academic_year, survey_round, year_group, construct, breakdown_topic, breakdown) as _pub_row_id,
        *
    from {{ ref('fsq_construct_scores') }} as _src
),

{{ td_publish_suppressed(
        source='scores',
        row_id='_pub_row_id',
        measures=['pupils_responding'],
        denominator='pupils_responding',
        sibling_sets=[
            {'partition': ['level', "coalesce(academy_urn, 'trust')", 'academic_year', 'survey_round',
                           'year_group', 'construct', 'breakdown_topic'],
             'where': "breakdown_topic <> 'Total'"},
            {'partition': ['academic_year', 'survey_round', 'year_group', 'construct', 'breakdown_topic',
                           'breakdown'],
             'where': "level = 'academy'"},
        ],
        extra_null_when_row_suppressed=['pupils_invited', 'completion_pct', 'pupils_answering', 'answers',
                                        'positive_answers', 'positive_pct'],
) }}

select
    published.* exclude (small_cell) replace (
        case when small_cell then null else positive_answers end as positive_answers,
        case when small_cell then null else positive_pct end as positive_pct,
        case when small_cell and suppression_status = 'shown' then 'partial' else suppression_status end
            as suppression_status
    )
from (
    select
        *,
        coalesce(positive_answers between 1 and {{ min_count - 1 }}
            or answers - positive_answers between 1 and {{ min_count - 1 }}, false) as small_cell
    from published
) as published
