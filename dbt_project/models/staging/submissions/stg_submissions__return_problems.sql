-- One row per problem found in a return file.
with

source as (
    select * from {{ source('raw', 'return_problems') }}
),

renamed as (
    select
        submission_id,
        file_sha256,
        cast(academy_urn as varchar) as academy_urn,
        leaving_year,
        round,
        file_path,
        severity,
        rule,
        cast(row_number as integer) as source_row,
        column_name,
        value,
        message,
        fix
    from source
)

select * from renamed
