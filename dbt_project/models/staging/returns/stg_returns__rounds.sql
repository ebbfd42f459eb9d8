-- Collection rounds (config/trust.yaml): intended rounds, then actual and follow-up rounds.
with

source as (
    select * from {{ source('raw', 'rounds') }}
),

renamed as (
    select
        round,
        lower(round_kind) as round_kind,
        round_label,
        cast(round_order as integer) as round_order,
        due_month_day,
        cast(due_year_offset as integer) as due_year_offset
    from source
)

select * from renamed
