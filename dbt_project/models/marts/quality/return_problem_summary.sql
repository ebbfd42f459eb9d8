-- Problems per return file and rule (counts and example rows, never pupil values): what to fix first.
select
    p.academy_urn,
    p.leaving_year,
    p.round,
    p.submission_id,
    s.original_name,
    s.submission_status,
    s.is_current,
    s.submission_recency,
    p.severity,
    p.rule,
    count(*) as problems,
    count(distinct p.source_row) as rows_affected,
    -- at most 10 example rows (a file with 300,000 bad rows must not make a 2 MB cell)
    array_to_string(list_sort(list(distinct p.source_row))[1:10], ', ')
        || case when count(distinct p.source_row) > 10 then ', ...' else '' end as example_rows,
    min(p.message) as example_message,
    min(p.fix) as how_to_fix
from {{ ref('stg_submissions__return_problems') }} as p
inner join {{ ref('stg_submissions__return_submissions') }} as s
    on p.submission_id = s.submission_id
group by all
