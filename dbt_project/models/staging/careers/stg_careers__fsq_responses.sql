-- FSQ answers, one row per pupil x survey date x item; when two files carry the same answer
-- (a re-export), the most recently modified file wins.
with

source as (
    select * from {{ source('raw', 'fsq_responses') }}
),

keyed as (
    select *, hash(upn, survey_date, item_id) as _answer_key from source
),

-- answers carried by more than one row (a re-export): a hash aggregate finds them cheaply, so
-- only those rows are ranked (ranking all of them cost ~2x at 7.4 M answers); a hash collision
-- only sends a few more rows through the exact ranking
repeated as (
    select _answer_key from keyed group by _answer_key having count(*) > 1
),

ranked_repeats as (
    select * exclude (_answer_key)
    from keyed semi join repeated using (_answer_key)
    qualify row_number() over (
        partition by upn, survey_date, item_id
        order by file_modified_at desc, source_file desc, source_row
    ) = 1
),

ranked as (
    select * exclude (_answer_key) from keyed anti join repeated using (_answer_key)
    union all
    select * from ranked_repeats
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
