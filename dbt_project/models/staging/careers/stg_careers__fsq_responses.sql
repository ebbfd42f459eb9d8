-- FSQ answers, one row per pupil x survey date x item; when two files carry the same answer
-- (a re-export), the most recently modified file wins.
-- The source is named in each CTE, not once in a CTE of its own: DuckDB materialises a CTE
-- read twice, with every column of every answer (3x the CPU of the whole model at large).
with

-- pupils' surveys (UPN x survey date) that more than one file carries: only their answers can
-- repeat, because ingest never loads an answer twice from one file (rule duplicate_answer).
-- Grouping 7.4 M answers by pupil survey costs about a fifth of keying every answer, and only
-- those pupils' answers are ranked.
repeated as (
    select upn, survey_date
    from {{ source('raw', 'fsq_responses') }}
    group by upn, survey_date
    having min(source_file) <> max(source_file)
),

ranked_repeats as (
    select answers.*
    from {{ source('raw', 'fsq_responses') }} as answers semi join repeated using (upn, survey_date)
    qualify row_number() over (
        partition by upn, survey_date, item_id
        order by file_modified_at desc, source_file desc, source_row
    ) = 1
),

ranked as (
    select * from {{ source('raw', 'fsq_responses') }} anti join repeated using (upn, survey_date)
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
