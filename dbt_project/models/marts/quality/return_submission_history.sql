-- Every return file ever seen (accepted, superseded, rejected), newest first per academy and round:
-- the audit trail the data team shows an academy ("your 3 March file replaced the 12 February one").
select
    s.academy_urn,
    a.academy_name,
    s.leaving_year,
    s.round,
    s.submission_id,
    s.original_name,
    s.file_path,
    s.file_sha256,
    s.submitted_at,
    s.submitted_by,
    s.submission_status,
    s.is_current,
    s.submission_recency,
    s.rows_total,
    s.rows_accepted,
    s.rows_rejected,
    s.errors,
    s.warnings,
    s.due_date,
    s.is_late,
    s.feedback_path
from {{ ref('stg_submissions__return_submissions') }} as s
left join {{ ref('stg_returns__academies') }} as a
    on s.academy_urn = a.academy_urn
