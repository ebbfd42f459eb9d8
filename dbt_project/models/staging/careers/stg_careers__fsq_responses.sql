-- FSQ answers, one row per pupil x survey date x item; when two files carry the same answer
-- (a re-export), the most recently modified file wins.
with

source as (
    select * from {{ source('raw', 'fsq_responses') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by upn, survey_date, item_id
            order by file_modified_at desc, source_file desc, source_row
        ) as _rank
    from source
)

select
    cast(academy_urn as varchar) as academy_urn,
    academic_year,
    cast(survey_date as date) as survey_date,
    survey_round,
    upper(trim(upn)) as upn,
    upn_is_temporary as is_temporary_upn,
    cast(year_group as integer) as year_group,
    upper(item_id) as item_id,
    construct,
    response,
    response_score,
    response is not null as is_answered,
    is_positive,
    source_file,
    source_row
from ranked
where _rank = 1
