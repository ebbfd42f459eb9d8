-- Pupil x survey (academy, academic year, round, year group) x construct: answers and
-- positive answers. Unmapped items (construct null) are left out of construct scores.
-- A table of FSQ answers only: a corrected destination return (which changes pupils'
-- sub-groups) rebuilds fsq_construct_scores from it without reading the answers again.
-- Counts are integers: count_if gives HUGEINT, ~20x slower to scan and sum (DuckDB 1.4).

with

responses as (
    select * from {{ ref('stg_careers__fsq_responses') }}
)

select
    academy_urn,
    academic_year,
    survey_round,
    year_group,
    upn,
    construct,
    max(survey_date) as survey_date,
    cast(count_if(is_answered) as integer) as answers,
    cast(count_if(is_positive) as integer) as positive_answers
from responses
where construct is not null
group by all
