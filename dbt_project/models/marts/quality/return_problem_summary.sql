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
    string_agg(distinct cast(p.source_row as varchar), ', ') as example_rows,
    min(p.message) as example_message,
    min(p.fix) as how_to_fix
from {{ ref('stg_submissions__return_problems') }} as p
inner join {{ ref('stg_submissions__return_submissions') }} as s
    on p.submission_id = s.submission_id
group by all
