-- Data-quality status per academy x leaving year x round: submitted or missing, on time or late,
-- the current file's accepted / excluded / warning counts, its feedback report, and the history
-- of superseded and rejected files. Academies appear for the rounds they are expected to return:
-- register phase with KS4 leavers or a sixth form, joined the trust by the start of the leaving
-- year (the trust-totals cut-off: a cohort that began before the academy joined is not the
-- trust's to return), or sent a file for it anyway.
{%- set joined_by = var('td:trust_totals:joined_by_month_day', '09-01') %}
with

academies as (
    select
        academy_urn,
        academy_name,
        phase,
        has_sixth_form,
        joined_trust_on,
        case
            when phase in ('secondary', 'all-through', 'special', 'alternative provision')
                 and (has_sixth_form or phase = '16-19') then 'KS4 and 16-18'
            when phase in ('secondary', 'all-through', 'special', 'alternative provision') then 'KS4'
            when has_sixth_form or phase = '16-19' then '16-18'
        end as key_stages
    from {{ ref('stg_returns__academies') }}
),

rounds as (
    select * from {{ ref('stg_returns__rounds') }}
),

submissions as (
    select * from {{ ref('stg_submissions__return_submissions') }}
),

leaving_years as (
    select distinct leaving_year from submissions
    union
    select distinct leaving_year from {{ ref('stg_submissions__missing_returns') }}
),

spine as (
    select
        a.academy_urn,
        a.academy_name,
        a.phase,
        a.key_stages,
        a.joined_trust_on,
        y.leaving_year,
        r.round,
        r.round_kind,
        r.round_label,
        r.round_order,
        make_date(
            cast(left(y.leaving_year, 4) as integer) + r.due_year_offset,
            cast(split_part(r.due_month_day, '-', 1) as integer),
            cast(split_part(r.due_month_day, '-', 2) as integer)
        ) as due_date
    from academies as a
    cross join leaving_years as y
    cross join rounds as r
    where a.key_stages is not null
),

expected as (
    select * from spine
    where joined_trust_on is null
       or joined_trust_on <= strptime(left(leaving_year, 4) || '-{{ joined_by }}', '%Y-%m-%d')::date
       or exists (
           select 1 from submissions as s
           where s.academy_urn = spine.academy_urn
             and s.leaving_year = spine.leaving_year
             and s.round = spine.round
       )
),

history as (
    select
        academy_urn,
        leaving_year,
        round,
        count(*) as files_submitted,
        count(*) filter (where submission_status = 'rejected') as files_rejected,
        count(*) filter (where submission_status = 'superseded') as files_superseded,
        min(submitted_at) as first_submitted_at,
        min(submitted_at) filter (where submission_status <> 'rejected') as first_accepted_at,
        max(submitted_at) as last_submitted_at,
        max(feedback_path) filter (where submission_recency = 1) as latest_feedback_path,
        max(submission_status) filter (where submission_recency = 1) as latest_submission_status
    from submissions
    group by academy_urn, leaving_year, round
),

current_file as (
    select
        academy_urn,
        leaving_year,
        round,
        file_path as current_file,
        original_name as current_original_name,
        submission_status as current_status,
        submitted_at as current_submitted_at,
        submitted_by as current_submitted_by,
        rows_total,
        rows_accepted,
        rows_rejected,
        errors,
        warnings,
        feedback_path as current_feedback_path
    from submissions
    where is_current
),

joined as (
    select
        e.academy_urn,
        e.academy_name,
        e.phase,
        e.key_stages,
        e.leaving_year,
        e.round,
        e.round_kind,
        e.round_label,
        e.round_order,
        e.due_date,
        c.current_file is not null as is_submitted,
        case
            when c.current_file is not null then 'submitted'
            when h.files_submitted > 0 then 'rejected_only'
            when e.due_date < current_date then 'missing'
            else 'not_due'
        end as return_status,
        case
            when h.first_accepted_at is not null and cast(h.first_accepted_at as date) <= e.due_date then 'on_time'
            when h.first_accepted_at is not null then 'late'
            when e.due_date < current_date then 'overdue'
            else 'not_due'
        end as timeliness,
        h.first_accepted_at is not null and cast(h.first_accepted_at as date) > e.due_date as is_late,
        c.current_file is null and e.due_date < current_date as is_missing,
        case when c.current_file is null and e.due_date < current_date
             then date_diff('day', e.due_date, current_date) end as days_overdue,
        c.current_file,
        c.current_original_name,
        c.current_status,
        c.current_submitted_at,
        c.current_submitted_by,
        coalesce(c.rows_total, 0) as rows_total,
        coalesce(c.rows_accepted, 0) as rows_accepted,
        coalesce(c.rows_rejected, 0) as rows_rejected,
        coalesce(c.errors, 0) as errors,
        coalesce(c.warnings, 0) as warnings,
        coalesce(c.current_feedback_path, h.latest_feedback_path) as feedback_path,
        h.latest_submission_status,
        h.first_submitted_at,
        h.first_accepted_at,
        h.last_submitted_at,
        coalesce(h.files_submitted, 0) as files_submitted,
        coalesce(h.files_superseded, 0) as files_superseded,
        coalesce(h.files_rejected, 0) as files_rejected,
        current_date as as_of
    from expected as e
    left join current_file as c
        on e.academy_urn = c.academy_urn and e.leaving_year = c.leaving_year and e.round = c.round
    left join history as h
        on e.academy_urn = h.academy_urn and e.leaving_year = h.leaving_year and e.round = h.round
)

select * from joined
