-- Stereotype-countering goals (config/goals.yaml), one row per goal.
with

source as (
    select * from {{ source('raw', 'goals') }}
),

renamed as (
    select
        goal_id,
        title as goal_title,
        population_sex,
        population_disadvantaged,
        population_sen_provision,
        cast(routes as varchar[]) as routes,
        all_routes as is_all_routes,
        cast(destination_groups as varchar[]) as destination_groups,
        key_stage,
        measure,
        cast(target_pct as double) as target_pct,
        direction,
        cast(comparator_pct as double) as comparator_pct,
        comparator_year,
        comparator_description,
        comparator_source
    from source
)

select * from renamed
