-- One row per academy x Compass evaluation: benchmarks fully achieved, the mean %, criteria
-- counts, and the change since the academy's previous evaluation under the SAME framework
-- (never across the 2018 -> 2025 break: comparable_with_previous is false there).
with

benchmarks as (
    select * from {{ ref('stg_careers__compass_evaluations') }}
),

criteria as (
    select
        academy_urn, evaluation_date,
        count(*) as criteria_reported,
        count_if(is_fully_achieved) as criteria_fully_achieved
    from {{ ref('stg_careers__compass_criteria') }}
    group by all
),

per_evaluation as (
    select
        academy_urn,
        evaluation_date,
        min(academic_year) as academic_year,
        min(term) as term,
        -- one framework per evaluation; mixed rows are flagged
        min(framework_version) as framework_version,
        count(distinct framework_version) > 1 as has_mixed_framework,
        count(*) as benchmarks_reported,
        count_if(is_fully_achieved) as benchmarks_fully_achieved,
        avg(percent_achieved) as mean_percent_achieved
    from benchmarks
    group by all
),

with_previous as (
    select
        per_evaluation.*,
        lag(evaluation_date) over academy_history as previous_evaluation_date,
        lag(framework_version) over academy_history as previous_framework_version,
        lag(benchmarks_fully_achieved) over academy_history as previous_benchmarks_fully_achieved,
        row_number() over (partition by academy_urn, academic_year order by evaluation_date desc) = 1
            as is_latest_in_academic_year
    from per_evaluation
    window academy_history as (partition by academy_urn order by evaluation_date)
)

select
    with_previous.* exclude (previous_benchmarks_fully_achieved),
    coalesce(previous_framework_version = framework_version, false) as comparable_with_previous,
    previous_framework_version is not null and previous_framework_version <> framework_version
        as is_first_after_framework_change,
    case when previous_framework_version = framework_version
        then benchmarks_fully_achieved - previous_benchmarks_fully_achieved end
        as change_in_benchmarks_fully_achieved,
    criteria.criteria_reported,
    criteria.criteria_fully_achieved
from with_previous
left join criteria using (academy_urn, evaluation_date)
