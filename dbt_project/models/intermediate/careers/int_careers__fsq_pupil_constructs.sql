-- Pupil x survey (academy, academic year, round, year group) x construct: answers and
-- positive answers. Unmapped items (construct null) are left out of construct scores.
-- A view: its one reader (fsq_construct_scores) aggregates it straight away, and writing its
-- ~4 M rows (large trust) to the warehouse cost more than computing them.
{{ config(materialized='view') }}

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
    count_if(is_answered) as answers,
    count_if(is_positive) as positive_answers
from responses
where construct is not null
group by all
