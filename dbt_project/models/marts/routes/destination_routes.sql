-- Leavers by occupational route (the return's `route` column), per level x academy x
-- leaving year x key stage x round. Pupils whose destination has no route (NEET, not known,
-- 'Not applicable' or blank) are left out; `frame_pupils` = the pupils with a route in the frame.

with

pupils as (
    select * from {{ ref('int_destinations__pupil_rounds') }}
    where key_stage is not null
      and route is not null
      and route <> 'Not applicable'
),

academy_counts as (
    select
        'academy' as level,
        academy_urn,
        min(academy_name) as academy_name,
        bool_and(counts_in_trust_totals) as counts_in_trust_totals,
        leaving_year,
        key_stage,
        round,
        min(round_kind) as round_kind,
        route,
        count(*) as pupils
    from pupils
    group by academy_urn, leaving_year, key_stage, round, route
),

trust_counts as (
    select
        'trust' as level,
        cast(null as varchar) as academy_urn,
        cast(null as varchar) as academy_name,
        cast(null as boolean) as counts_in_trust_totals,
        leaving_year,
        key_stage,
        round,
        min(round_kind) as round_kind,
        route,
        count(*) as pupils
    from pupils
    where counts_in_trust_totals
    group by leaving_year, key_stage, round, route
),

all_counts as (
    select * from academy_counts
    union all
    select * from trust_counts
),

final as (
    select
        *,
        sum(pupils) over (partition by level, academy_urn, leaving_year, key_stage, round) as frame_pupils,
        100.0 * pupils
            / sum(pupils) over (partition by level, academy_urn, leaving_year, key_stage, round)
            as pupils_pct
    from all_counts
)

select * from final
