-- Academies with no accepted return for a round past its due date (as of the last refresh).
with

source as (
    select * from {{ source('raw', 'missing_returns') }}
),

renamed as (
    select
        cast(academy_urn as varchar) as academy_urn,
        academy_name,
        phase,
        key_stages,
        leaving_year,
        round,
        cast(due_date as date) as due_date,
        cast(days_overdue as integer) as days_overdue,
        last_status,
        cast(last_submitted_at as timestamp) as last_submitted_at,
        cast(as_of as date) as as_of
    from source
)

select * from renamed
