-- Pupil x survey (academy, academic year, round, year group): did the pupil respond, and
-- their readiness score (% positive answers to the constructs in_readiness_score) and
-- essential-skills score (% positive answers to the other constructs).
with

constructs as (
    select * from {{ ref('int_careers__fsq_pupil_constructs') }}
),

responses as (
    select * from {{ ref('stg_careers__fsq_responses') }}
),

items as (
    select distinct construct, in_readiness_score from {{ ref('stg_careers__fsq_items') }}
),

invited as (
    -- every pupil in the export, answered or not (completion rates)
    select
        academy_urn, academic_year, survey_round, year_group, upn,
        max(survey_date) as survey_date,
        count_if(is_answered) as answers
    from responses
    group by all
),

scores as (
    select
        constructs.academy_urn, constructs.academic_year, constructs.survey_round,
        constructs.year_group, constructs.upn,
        sum(answers) filter (where items.in_readiness_score) as readiness_answers,
        sum(positive_answers) filter (where items.in_readiness_score) as readiness_positive,
        sum(answers) filter (where not items.in_readiness_score) as skills_answers,
        sum(positive_answers) filter (where not items.in_readiness_score) as skills_positive
    from constructs
    inner join items on constructs.construct = items.construct
    group by all
)

select
    invited.academy_urn,
    invited.academic_year,
    invited.survey_round,
    invited.year_group,
    invited.upn,
    invited.survey_date,
    invited.answers > 0 as responded,
    coalesce(scores.readiness_answers, 0) as readiness_answers,
    coalesce(scores.readiness_positive, 0) as readiness_positive,
    {{ pct('scores.readiness_positive', 'scores.readiness_answers') }} as readiness_pct,
    coalesce(scores.skills_answers, 0) as skills_answers,
    coalesce(scores.skills_positive, 0) as skills_positive,
    {{ pct('scores.skills_positive', 'scores.skills_answers') }} as skills_pct
from invited
left join scores using (academy_urn, academic_year, survey_round, year_group, upn)
