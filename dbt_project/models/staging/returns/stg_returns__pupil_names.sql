-- The optional pupil name / admission number of each returned pupil row, kept apart from
-- stg_returns__destination_returns so no aggregate can pick it up: only neet_risk_pupils
-- (the academy's own NEET-risk list) joins it.
with

source as (
    select * from {{ source('raw', 'destination_returns') }}
),

named as (
    select
        cast(academy_urn as varchar) as academy_urn,
        cast(leaving_year as varchar) as leaving_year,
        cast(round as varchar) as round,
        upper(trim(upn)) as upn,
        trim(pupil_name) as pupil_name
    from source
    where nullif(trim(pupil_name), '') is not null
)

select * from named
