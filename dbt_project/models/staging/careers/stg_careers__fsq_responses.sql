-- FSQ answers, one row per pupil x survey date x item; when two files carry the same answer
-- (a re-export), the most recently modified file wins.
-- Answers carry their file's key (file_id); the file's own columns (academy, year, path, time)
-- are joined from raw.fsq_files, once per answer, at the end.
-- The source is named in each CTE, not once in a CTE of its own: DuckDB materialises a CTE
-- read twice, with every column of every answer (3x the CPU of the whole model at large).
with

-- pupils' surveys (UPN x survey date) that more than one file carries: only their answers can
-- repeat, because ingest never loads an answer twice from one file (rule duplicate_answer).
-- Grouping 7.4 M answers by pupil survey costs about a fifth of keying every answer, and only
-- those pupils' answers are ranked. A file has one file_id, so two files = two keys.
repeated as (
    select upn, survey_date
    from {{ source('raw', 'fsq_answers') }}
    group by upn, survey_date
    having min(file_id) <> max(file_id)
),

ranked_repeats as (
    select answers.*
    from {{ source('raw', 'fsq_answers') }} as answers
    semi join repeated using (upn, survey_date)
    join {{ source('raw', 'fsq_files') }} as files using (file_id)
    qualify row_number() over (
        partition by answers.upn, answers.survey_date, answers.item_id
        order by files.file_modified_at desc, files.source_file desc, answers.source_row
    ) = 1
),

ranked as (
    select * from {{ source('raw', 'fsq_answers') }} anti join repeated using (upn, survey_date)
    union all
    select * from ranked_repeats
)

select
    cast(files.academy_urn as varchar) as academy_urn,
    files.academic_year,
    cast(ranked.survey_date as date) as survey_date,
    ranked.survey_round,
    upper(trim(ranked.upn)) as upn,
    ranked.upn_is_temporary as is_temporary_upn,
    cast(ranked.year_group as integer) as year_group,
    upper(ranked.item_id) as item_id,
    ranked.construct,
    ranked.response,
    ranked.response_score,
    ranked.response is not null as is_answered,
    ranked.is_positive,
    files.source_file,
    ranked.source_row
from ranked
join {{ source('raw', 'fsq_files') }} as files using (file_id)
