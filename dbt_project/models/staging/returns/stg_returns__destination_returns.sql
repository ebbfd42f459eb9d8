-- One row per accepted pupil row of the current return (academy x leaving year x round).
with

source as (
    select * from {{ source('raw', 'destination_returns') }}
),

renamed as (
    select
        ---------- ids
        cast(academy_urn as varchar) as academy_urn,
        cast(leaving_year as varchar) as leaving_year,
        cast(round as varchar) as round,
        upper(trim(upn)) as upn,
        cast(upn_is_temporary as boolean) as is_temporary_upn,

        ---------- pupil characteristics
        cast(year_group as integer) as year_group,
        upper(trim(sex)) as sex,
        cast(disadvantaged as boolean) as is_disadvantaged,
        upper(trim(sen_provision)) as sen_provision,
        cast(fsm_eligible as boolean) as is_fsm_eligible,
        cast(looked_after as boolean) as is_looked_after,
        nullif(upper(trim(ethnicity)), '') as ethnicity,

        ---------- destination
        upper(trim(cast(destination_code as varchar))) as destination_code,
        nullif(trim(route), '') as route,
        nullif(trim(provider), '') as provider,
        nullif(trim(provider_id), '') as provider_id,
        nullif(trim(level), '') as qualification_level,
        nullif(lower(trim(september_guarantee)), '') as september_guarantee,
        cast(consent_follow_up as boolean) as has_consent_follow_up,
        cast(date_ascertained as date) as date_ascertained,

        ---------- lineage
        source_file,
        file_sha256,
        cast(source_row as integer) as source_row

    from source
)

select * from renamed
