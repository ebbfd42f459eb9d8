-- Pupil x intended round against the pupil's actual destination (first actual round), for
-- academies x leaving years with an actual return. Classifies each pupil (macro
-- reconciliation_outcome): realised / changed route / became NEET / became not known /
-- no intention recorded / not in actual return.
-- Rebuilt per leaving year (macros/by_leaving_year.sql).
{{ config(**by_leaving_year()) }}
with

-- Only the columns used: a CTE read more than once is materialized with every column it
-- selects, and at national size (13.8 M rows) the whole row of pupil_rounds spilled under the
-- memory limit (315 s alone, 411 s in the build). The table scans below read these columns only.
pupil_rounds as not materialized (
    select
        academy_urn, leaving_year, round, round_kind, round_order, upn,
        destination_code, destination_group, destination_sub_group, route
    from {{ ref('int_destinations__pupil_rounds') }}
    where {{ leaving_years_changed() }}
),

intended as not materialized (
    select * from pupil_rounds where round_kind = 'intended'
),

actual as (
    select *
    from pupil_rounds
    where round_kind = 'actual'
    qualify row_number() over (
        partition by leaving_year, upn order by round_order, academy_urn
    ) = 1
),

-- academy x leaving year x intended round returned, where an actual round was returned too
frames as (
    select distinct intended.academy_urn, intended.leaving_year, intended.round as intended_round,
        intended.round_order as intended_round_order
    from intended
    where exists (
        select 1 from actual
        where actual.academy_urn = intended.academy_urn
            and actual.leaving_year = intended.leaving_year
    )
),

-- the pupils of the frame's intended return, with their actual destination if any
pairs as (
    select
        frames.intended_round,
        frames.intended_round_order,
        intended.leaving_year,
        intended.upn,
        coalesce(actual.academy_urn, intended.academy_urn) as academy_urn,
        intended.destination_code as intended_code,
        intended.destination_group as intended_group,
        intended.destination_sub_group as intended_sub_group,
        intended.route as intended_route,
        actual.round as actual_round,
        actual.destination_code as actual_code,
        actual.destination_group as actual_group,
        actual.destination_sub_group as actual_sub_group,
        actual.route as actual_route,
        intended.upn is not null as in_intended_return,
        actual.upn is not null as in_actual_return
    from frames
    inner join intended
        on frames.academy_urn = intended.academy_urn
        and frames.leaving_year = intended.leaving_year
        and frames.intended_round = intended.round
    left join actual
        on intended.leaving_year = actual.leaving_year
        and intended.upn = actual.upn
),

-- pupils of the academy's actual return who are missing from the frame's intended return
actual_only as (
    select
        frames.intended_round,
        frames.intended_round_order,
        actual.leaving_year,
        actual.upn,
        actual.academy_urn,
        cast(null as varchar) as intended_code,
        cast(null as varchar) as intended_group,
        cast(null as varchar) as intended_sub_group,
        cast(null as varchar) as intended_route,
        actual.round as actual_round,
        actual.destination_code as actual_code,
        actual.destination_group as actual_group,
        actual.destination_sub_group as actual_sub_group,
        actual.route as actual_route,
        false as in_intended_return,
        true as in_actual_return
    from actual
    inner join frames
        on actual.academy_urn = frames.academy_urn
        and actual.leaving_year = frames.leaving_year
    where not exists (
        select 1 from intended
        where intended.leaving_year = actual.leaving_year
            and intended.upn = actual.upn
            and intended.round = frames.intended_round
    )
),

all_pairs as (
    select * from pairs
    union all
    select * from actual_only
),

classified as (
    select
        *,
        {{ reconciliation_outcome('intended_group', 'intended_sub_group', 'actual_group',
                                  'actual_sub_group', 'in_intended_return', 'in_actual_return') }}
            as outcome,
        coalesce(intended_route, '') <> coalesce(actual_route, '')
            and intended_route is not null and actual_route is not null as is_occupational_route_changed
    from all_pairs
)

select * from classified
