-- Per pupil x intended round: what the pupil intended, where they went, and the outcome.
-- Pupil-level: only for users who may see pupil rows (not suppressed).
-- Rebuilt per leaving year (macros/by_leaving_year.sql).
{{ config(**by_leaving_year()) }}
with

pairs as (
    select * from {{ ref('int_destinations__intended_vs_actual') }}
    where {{ leaving_years_changed() }}
),

history as (
    select * from {{ ref('int_destinations__pupil_history') }}
    where {{ leaving_years_changed() }}
),

sub_groups as (
    select * from {{ ref('destination_sub_groups') }}
),

academies as (
    select * from {{ ref('stg_returns__academies') }}
),

final as (
    select
        ---------- ids
        pairs.leaving_year,
        pairs.academy_urn,
        academies.academy_name,
        pairs.upn,
        pairs.intended_round,
        pairs.actual_round,

        ---------- pupil
        history.key_stage,
        history.year_group,
        history.sex_label,
        history.disadvantage_label,
        history.sen_provision_label,
        history.ethnicity_major,
        history.is_looked_after,
        history.counts_in_trust_totals,

        ---------- intended vs actual
        pairs.intended_code,
        pairs.intended_group,
        pairs.intended_sub_group,
        intended_sg.sub_group_label as intended_label,
        pairs.intended_route,
        pairs.actual_code,
        pairs.actual_group,
        pairs.actual_sub_group,
        actual_sg.sub_group_label as actual_label,
        pairs.actual_route,
        pairs.outcome,
        pairs.outcome = 'changed route' as is_changed_route,
        -- Sankey groups: no intention / not returned get their own nodes
        case when not pairs.in_intended_return then 'No intention recorded'
            else coalesce(intended_sg.flow_group, 'Unknown code') end as source_group,
        case when not pairs.in_actual_return then 'Not in actual return'
            else coalesce(actual_sg.flow_group, 'Unknown code') end as target_group,
        pairs.is_occupational_route_changed

    from pairs
    left join history
        on pairs.leaving_year = history.leaving_year and pairs.upn = history.upn
    left join sub_groups as intended_sg
        on pairs.intended_sub_group = intended_sg.destination_sub_group
    left join sub_groups as actual_sg
        on pairs.actual_sub_group = actual_sg.destination_sub_group
    left join academies on pairs.academy_urn = academies.academy_urn
)

select * from final
