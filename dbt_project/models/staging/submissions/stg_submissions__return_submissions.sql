-- One row per return file (academy x leaving year x round x file), newest first per academy and round.
with

source as (
    select * from {{ source('raw', 'return_submissions') }}
),

renamed as (
    select
        submission_id,
        cast(academy_urn as varchar) as academy_urn,
        leaving_year,
        round,
        file_path,
        original_name,
        sha256 as file_sha256,
        cast(submitted_at as timestamp) as submitted_at,
        submitted_by,
        status as submission_status,
        cast(is_current as boolean) as is_current,
        cast(rows_total as integer) as rows_total,
        cast(rows_accepted as integer) as rows_accepted,
        cast(rows_rejected as integer) as rows_rejected,
        cast(errors as integer) as errors,
        cast(warnings as integer) as warnings,
        feedback_path,
        cast(due_date as date) as due_date,
        coalesce(cast(is_late as boolean), false) as is_late,
        cast(processed_at as timestamp) as processed_at,
        row_number() over (
            partition by academy_urn, leaving_year, round
            order by submitted_at desc, file_path desc
        ) as submission_recency
    from source
)

select * from renamed
