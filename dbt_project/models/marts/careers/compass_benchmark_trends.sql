-- Compass results over time, one row per academy x evaluation date x benchmark (1-8).
-- Changes are computed only against the academy's previous evaluation under the SAME
-- framework version: the 2025 refresh (from September 2025) starts a new series, flagged
-- by comparable_with_previous = false and is_first_after_framework_change.
with

benchmarks as (
    select * from {{ ref('stg_careers__compass_evaluations') }}
),

evaluations as (
    select * from {{ ref('int_careers__compass_evaluations') }}
),

academies as (
    select urn as academy_urn, name as academy_name from {{ source('raw', 'academies') }}
),

names as (
    select * from {{ ref('gatsby_benchmarks') }}
),

with_previous as (
    select
        benchmarks.*,
        lag(percent_achieved) over bm_history as previous_percent_achieved,
        lag(framework_version) over bm_history as previous_framework_version
    from benchmarks
    window bm_history as (partition by academy_urn, benchmark order by evaluation_date)
)

select
    with_previous.academy_urn,
    academies.academy_name,
    with_previous.evaluation_date,
    with_previous.academic_year,
    with_previous.term,
    with_previous.framework_version,
    with_previous.benchmark,
    names.benchmark_name,
    with_previous.percent_achieved,
    with_previous.is_fully_achieved,
    evaluations.benchmarks_fully_achieved,
    evaluations.is_latest_in_academic_year,
    coalesce(with_previous.previous_framework_version = with_previous.framework_version, false)
        as comparable_with_previous,
    evaluations.is_first_after_framework_change,
    case when with_previous.previous_framework_version = with_previous.framework_version
        then with_previous.previous_percent_achieved end as previous_percent_achieved,
    case when with_previous.previous_framework_version = with_previous.framework_version
        then with_previous.percent_achieved - with_previous.previous_percent_achieved end
        as change_since_previous
from with_previous
inner join evaluations using (academy_urn, evaluation_date)
left join academies using (academy_urn)
left join names using (benchmark)
