-- Leavers by occupational route (the return's `route` column), per level x academy x
-- leaving year x key stage x round. Pupils whose destination has no route (NEET, not known,
-- 'Not applicable' or blank) are left out; `frame_pupils` = the pupils with a route in the frame.
-- Rebuilt per leaving year (macros/by_leaving_year.sql).
{{ config(**by_leaving_year()) }}
with

-- read by both levels: not materialized and only the columns counted (kept whole, the rows
-- spilled under the memory limit at national size)
pupils as not materialized (
    select academy_urn, academy_name, counts_in_trust_totals, leaving_year, key_stage, round, round_kind, route
    from {{ ref('int_destinations__pupil_rounds') }}
    where {{ leaving_years_changed() }}
      and key_stage is not null
      and route is not null
      and route <> 'Not applicable'
),

all_counts as (
    {{ academy_and_trust_counts('pupils', ['leaving_year', 'key_stage', 'round', 'route'],
                                'min(round_kind) as round_kind, count(*) as pupils',
                                per_level=[('academy_name', 'min(academy_name)', 'cast(null as varchar)')]) }}
),

final as (
    select
        level, academy_urn, academy_name, counts_in_trust_totals, leaving_year, key_stage, round, round_kind,
        route, pupils,
        sum(pupils) over (partition by level, academy_urn, leaving_year, key_stage, round) as frame_pupils,
        100.0 * pupils
            / sum(pupils) over (partition by level, academy_urn, leaving_year, key_stage, round)
            as pupils_pct
    from all_counts
)

select * from final
