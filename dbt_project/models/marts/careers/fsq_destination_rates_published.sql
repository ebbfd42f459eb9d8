-- fsq_destination_rates with disclosure control (macros/suppression.sql): cohorts under
-- td:suppression:min_cohort suppressed whole; counts of 1 .. min_count-1 (or cohort minus
-- them) suppressed, with secondary suppression within the row (cohort = positive + neet +
-- not_known + other), across breakdowns of a topic, across readiness bands, and across the
-- academies of the trust. Suppressed counts and shares are null.
{%- set counts = ['cohort', 'positive', 'neet', 'not_known', 'other', 'with_fsq'] %}
{%- set frame = ['level', "coalesce(academy_urn, 'trust')", 'leaving_year', 'key_stage'] %}

with

rates as (
    select
        row_number() over (order by level, academy_urn, leaving_year, key_stage, readiness_band, breakdown_topic, breakdown) as _pub_row_id,
        *
    from {{ ref('fsq_destination_rates') }} as _src
),

{{ td_publish_suppressed(
        source='rates',
        row_id='_pub_row_id',
        measures=counts,
        denominator='cohort',
        pct_measures=counts[1:],
        hierarchy=[['cohort', ['positive', 'neet', 'not_known', 'other']]],
        sibling_sets=[
            {'partition': frame + ['readiness_band', 'breakdown_topic'], 'where': "breakdown_topic <> 'Total'"},
            {'partition': frame + ['breakdown_topic', 'breakdown'], 'where': "readiness_band <> 'All'"},
            {'partition': ['leaving_year', 'key_stage', 'readiness_band', 'breakdown_topic', 'breakdown'],
             'where': "level = 'academy'"},
        ],
        extra_null_when_row_suppressed=['mean_readiness_pct'],
) }}

select * from published
