-- Sankey-ready flows: intended group -> actual group, pupils per level x academy x leaving
-- year x key stage x intended round. frame_pupils = all pupils of that level x ... x round.
-- Rebuilt per leaving year (macros/by_leaving_year.sql).
{{ config(**by_leaving_year()) }}
with

pupils as (
    select * from {{ ref('destination_reconciliation') }}
    where {{ leaving_years_changed() }}
),

academy_flows as (
    select
        'academy' as level,
        academy_urn,
        bool_and(counts_in_trust_totals) as counts_in_trust_totals,
        leaving_year, key_stage, intended_round, source_group, target_group,
        count(*) as pupils
    from pupils
    group by academy_urn, leaving_year, key_stage, intended_round, source_group, target_group
),

trust_flows as (
    select
        'trust' as level,
        cast(null as varchar) as academy_urn,
        cast(null as boolean) as counts_in_trust_totals,
        leaving_year, key_stage, intended_round, source_group, target_group,
        count(*) as pupils
    from pupils
    where counts_in_trust_totals
    group by leaving_year, key_stage, intended_round, source_group, target_group
),

all_flows as (
    select * from academy_flows
    union all
    select * from trust_flows
),

final as (
    select
        level,
        academy_urn,
        counts_in_trust_totals,
        leaving_year,
        key_stage,
        intended_round,
        source_group,
        target_group,
        cast(pupils as bigint) as pupils,
        cast(sum(pupils) over (
            partition by level, academy_urn, leaving_year, key_stage, intended_round
        ) as bigint) as frame_pupils
    from all_flows
)

select * from final
