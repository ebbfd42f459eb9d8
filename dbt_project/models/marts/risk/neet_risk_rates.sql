-- How often the NEET-risk list flags each sub-group (so bias in the weights is visible):
-- per level x academy x leaving year x key stage x breakdown. Rebuilt per leaving year
-- (macros/by_leaving_year.sql), as neet_risk_pupils.
{{ config(**by_leaving_year()) }}
with

pupils as (
    select * from {{ ref('neet_risk_pupils') }}
    where {{ leaving_years_changed() }}
),

by_breakdown as (
    select pupils.*, topic.breakdown_topic, topic.breakdown
    from pupils
    {{ breakdown_lateral('pupils') }}
),

academy_counts as (
    select
        'academy' as level, academy_urn, min(academy_name) as academy_name,
        bool_and(counts_in_trust_totals) as counts_in_trust_totals,
        leaving_year, key_stage, breakdown_topic, breakdown,
        count(*) as pupils,
        count_if(is_flagged) as flagged,
        avg(risk_score) as mean_risk_score
    from by_breakdown
    group by academy_urn, leaving_year, key_stage, breakdown_topic, breakdown
),

trust_counts as (
    select
        'trust' as level, cast(null as varchar) as academy_urn, cast(null as varchar) as academy_name,
        cast(null as boolean) as counts_in_trust_totals,
        leaving_year, key_stage, breakdown_topic, breakdown,
        count(*) as pupils,
        count_if(is_flagged) as flagged,
        avg(risk_score) as mean_risk_score
    from by_breakdown
    where counts_in_trust_totals
    group by leaving_year, key_stage, breakdown_topic, breakdown
),

all_counts as (
    select * from academy_counts
    union all
    select * from trust_counts
)

select
    level, academy_urn, academy_name, counts_in_trust_totals, leaving_year, key_stage,
    breakdown_topic, breakdown,
    cast(pupils as bigint) as pupils,
    cast(flagged as bigint) as flagged,
    {{ pct('flagged', 'pupils') }} as flagged_pct,
    mean_risk_score
from all_counts
