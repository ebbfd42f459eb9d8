-- Compass benchmark results, one row per academy x evaluation date x benchmark
-- (criterion rows are in stg_careers__compass_criteria). Latest file wins on repeats.
with

source as (
    select * from {{ source('raw', 'compass_evaluations') }}
    where criterion is null
),

ranked as (
    select
        *,
        row_number() over (
            partition by academy_urn, evaluation_date, benchmark
            order by file_modified_at desc, source_file desc, source_row
        ) as _rank
    from source
)

select
    cast(academy_urn as varchar) as academy_urn,
    cast(evaluation_date as date) as evaluation_date,
    academic_year,
    term,
    cast(framework_version as varchar) as framework_version,
    cast(benchmark as integer) as benchmark,
    cast(percent_achieved as double) as percent_achieved,
    percent_achieved >= 100 as is_fully_achieved,
    source_file
from ranked
where _rank = 1
