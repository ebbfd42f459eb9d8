-- The trust against national Compass figures (seeds/careers/compass_national.csv, with source),
-- one row per academic_year x framework_version x measure x benchmark (0 = all benchmarks).
-- Each academy counts once a year, with its latest evaluation of that year. National figures
-- are all 2018-framework; rows of the 2025 framework have national_value null and
-- comparable_with_national = false (the refreshed benchmarks are not comparable).
with

evaluations as (
    select * from {{ ref('int_careers__compass_evaluations') }}
    where is_latest_in_academic_year
),

benchmarks as (
    select b.*
    from {{ ref('stg_careers__compass_evaluations') }} as b
    inner join evaluations using (academy_urn, evaluation_date)
),

national as (
    select * from {{ ref('compass_national') }}
),

trust as (
    select
        academic_year, framework_version, 'avg_benchmarks_fully_achieved' as measure, 0 as benchmark,
        count(*) as academies,
        avg(benchmarks_fully_achieved) as trust_value
    from evaluations
    group by all
    union all
    select
        academic_year, framework_version, 'pct_all_eight_achieved', 0,
        count(*),
        {{ pct('count_if(benchmarks_fully_achieved = 8)', 'count(*)') }}
    from evaluations
    group by all
    union all
    select
        academic_year, framework_version, 'pct_fully_achieved', benchmark,
        count(*),
        {{ pct('count_if(is_fully_achieved)', 'count(*)') }}
    from benchmarks
    group by all
    union all
    select
        academic_year, framework_version, 'mean_percent_achieved', benchmark,
        count(*),
        avg(percent_achieved)
    from benchmarks
    group by all
)

select
    trust.academic_year,
    trust.framework_version,
    trust.measure,
    trust.benchmark,
    trust.academies,
    trust.trust_value,
    national.value as national_value,
    trust.trust_value - national.value as difference_from_national,
    national.value is not null as comparable_with_national,
    national.source as national_source,
    national.note as national_note
from trust
left join national
    on trust.academic_year = national.academic_year
    and trust.framework_version = national.framework_version
    and trust.measure = national.measure
    and trust.benchmark = coalesce(national.benchmark, 0)
