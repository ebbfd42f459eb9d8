-- Progress on each stereotype-countering goal per level x academy x leaving year x round:
-- numerator, denominator, share, target, national comparator, on track.
-- Rebuilt per leaving year (macros/by_leaving_year.sql).
{{ config(**by_leaving_year()) }}
with

pupils as (
    select * from {{ ref('int_destinations__pupil_rounds') }}
    where {{ leaving_years_changed() }}
),

goals as (
    select * from {{ ref('stg_returns__goals') }}
),

academies as (
    select * from {{ ref('stg_returns__academies') }}
),

-- each pupil against each goal of its key stage
scored as (
    select
        goals.goal_id,
        pupils.academy_urn,
        pupils.counts_in_trust_totals,
        pupils.leaving_year,
        pupils.round,
        pupils.round_kind,
        (goals.population_sex is null or pupils.sex = goals.population_sex)
            and (goals.population_disadvantaged is null
                or pupils.is_disadvantaged = goals.population_disadvantaged)
            and (goals.population_sen_provision is null
                or list_contains(goals.population_sen_provision, pupils.sen_provision))
            as in_population,
        list_contains(goals.destination_groups, pupils.destination_group)
            and (goals.is_all_routes or list_contains(goals.routes, pupils.route))
            as enters_routes
    from pupils
    inner join goals
        on goals.key_stage = 'all' or goals.key_stage = pupils.key_stage
),

academy_counts as (
    select
        'academy' as level, goal_id, academy_urn,
        bool_and(counts_in_trust_totals) as counts_in_trust_totals,
        leaving_year, round, min(round_kind) as round_kind,
        count_if(in_population and enters_routes) as population_entering,
        count_if(enters_routes) as all_entering,
        count_if(in_population) as population
    from scored
    group by goal_id, academy_urn, leaving_year, round
),

-- the trust adds up the academies that count in trust totals (counts_in_trust_totals is one
-- value per academy x leaving year): `scored` (pupil rows x goals) is read once, not kept for a
-- second pass (it spilled under the memory limit at national size)
trust_counts as (
    select
        'trust' as level, goal_id, cast(null as varchar) as academy_urn,
        cast(null as boolean) as counts_in_trust_totals,
        leaving_year, round, min(round_kind) as round_kind,
        cast(sum(population_entering) as bigint) as population_entering,
        cast(sum(all_entering) as bigint) as all_entering,
        cast(sum(population) as bigint) as population
    from academy_counts
    where counts_in_trust_totals
    group by goal_id, leaving_year, round
),

all_counts as (
    select * from academy_counts
    union all
    select * from trust_counts
),

final as (
    select
        ---------- keys
        all_counts.goal_id,
        goals.goal_title,
        all_counts.level,
        all_counts.academy_urn,
        academies.academy_name,
        all_counts.counts_in_trust_totals,
        all_counts.leaving_year,
        all_counts.round,
        all_counts.round_kind,

        ---------- the goal
        goals.measure,
        goals.population_sex,
        goals.routes,
        goals.is_all_routes,
        goals.key_stage,

        ---------- progress
        cast(all_counts.population_entering as bigint) as numerator,
        cast(case goals.measure
            when 'population_share_of_route_entrants' then all_counts.all_entering
            else all_counts.population end as bigint) as denominator,
        {{ pct('numerator', 'denominator') }} as share_pct,
        goals.target_pct,
        goals.direction,
        case
            when denominator = 0 then null
            when goals.direction = 'at_most' then share_pct <= goals.target_pct
            else share_pct >= goals.target_pct
        end as is_on_track,

        ---------- national comparator
        goals.comparator_pct,
        share_pct - goals.comparator_pct as vs_comparator_pp,
        goals.comparator_year,
        goals.comparator_description,
        goals.comparator_source

    from all_counts
    inner join goals on all_counts.goal_id = goals.goal_id
    left join academies on all_counts.academy_urn = academies.academy_urn
)

select * from final
