-- Compass criterion-level rows (optional in exports), latest file wins on repeats.
with

source as (
    select * from {{ source('raw', 'compass_evaluations') }}
    where criterion is not null
),

ranked as (
    select
        *,
        row_number() over (
            partition by academy_urn, evaluation_date, benchmark, criterion
            order by file_modified_at desc, source_file desc, source_row
        ) as _rank
    from source
)

select
    cast(academy_urn as varchar) as academy_urn,
    cast(evaluation_date as date) as evaluation_date,
    cast(framework_version as varchar) as framework_version,
    cast(benchmark as integer) as benchmark,
    criterion,
    criterion_status,
    cast(percent_achieved as double) as percent_achieved,
    coalesce(criterion_status = 'Fully achieved', percent_achieved >= 100) as is_fully_achieved
from ranked
where _rank = 1
