-- The academy register, one row per academy.
with

source as (
    select * from {{ source('raw', 'academies') }}
),

renamed as (
    select
        cast(urn as varchar) as academy_urn,
        name as academy_name,
        cast(la_code as varchar) as la_code,
        lower(phase) as phase,
        cast(has_sixth_form as boolean) as has_sixth_form,
        cast(joined_trust as date) as joined_trust_on
    from source
)

select * from renamed
