-- NEET-risk factor weights and flag threshold (config/neet_risk.yaml), one row per factor.
with

source as (
    select * from {{ source('raw', 'neet_risk_weights') }}
),

renamed as (
    select
        factor,
        cast(weight as double) as weight,
        reason,
        cast(flag_threshold as double) as flag_threshold
    from source
)

select * from renamed
