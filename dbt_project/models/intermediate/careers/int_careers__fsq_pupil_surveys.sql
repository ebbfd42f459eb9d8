-- Pupil x survey (academy, academic year, round, year group): did the pupil respond, and
-- their readiness score (% positive answers to the constructs in_readiness_score) and
-- essential-skills score (% positive answers to the other constructs).
-- One pass over the answers: each answer counts once per (construct, in_readiness_score) pair
-- of the item list, as summing the pupil's construct totals over those pairs would.
with

responses as (
    select * from {{ ref('stg_careers__fsq_responses') }}
),

constructs as (
    -- per construct: its (construct, in_readiness_score) pairs that count to readiness / skills
    select
        construct,
        count(*) filter (where in_readiness_score) as to_readiness,
        count(*) filter (where not in_readiness_score) as to_skills
    from (select distinct construct, in_readiness_score from {{ ref('stg_careers__fsq_items') }})
    group by construct
),

pupils as (
    select
        responses.academy_urn, responses.academic_year, responses.survey_round,
        responses.year_group, responses.upn,
        max(responses.survey_date) as survey_date,
        -- every item in the export, mapped or not (completion rates)
        count_if(responses.is_answered) as answers,
        -- null (no score) when none of the pupil's answers is to a construct of that score
        sum(case when responses.is_answered then constructs.to_readiness else 0 end)
            filter (where constructs.to_readiness > 0) as readiness_answers,
        sum(case when responses.is_positive then constructs.to_readiness else 0 end)
            filter (where constructs.to_readiness > 0) as readiness_positive,
        sum(case when responses.is_answered then constructs.to_skills else 0 end)
            filter (where constructs.to_skills > 0) as skills_answers,
        sum(case when responses.is_positive then constructs.to_skills else 0 end)
            filter (where constructs.to_skills > 0) as skills_positive
    from responses
    left join constructs on responses.construct = constructs.construct
    group by all
)

select
    academy_urn,
    academic_year,
    survey_round,
    year_group,
    upn,
    survey_date,
    answers > 0 as responded,
    -- bigint, not the HUGEINT sum() gives: a HUGEINT column is ~20x slower to scan (DuckDB 1.4)
    cast(coalesce(readiness_answers, 0) as bigint) as readiness_answers,
    cast(coalesce(readiness_positive, 0) as bigint) as readiness_positive,
    {{ pct('readiness_positive', 'readiness_answers') }} as readiness_pct,
    cast(coalesce(skills_answers, 0) as bigint) as skills_answers,
    cast(coalesce(skills_positive, 0) as bigint) as skills_positive,
    {{ pct('skills_positive', 'skills_answers') }} as skills_pct
from pupils
