-- One row per pupil x leaving year: where the pupil stood in each kind of round.
-- Latest intended round and first actual round drive reconciliation and NEET risk.
-- Rebuilt per leaving year (macros/by_leaving_year.sql).
{{ config(**by_leaving_year()) }}
with

pupil_rounds as (
    select * from {{ ref('int_destinations__pupil_rounds') }}
    where {{ leaving_years_changed() }}
),

-- a pupil is keyed by UPN within a leaving year (a UPN is returned by one academy per round).
-- One pass: per pupil, the latest round, the latest intended and the first actual round
-- (ties on round broken by academy_urn), and the rounds returned.
per_pupil as (
    select
        leaving_year,
        upn,
        arg_min(pupil_rounds, (-round_order, academy_urn)) as latest_any,
        arg_min(pupil_rounds, (-round_order, academy_urn)) filter (where round_kind = 'intended')
            as latest_intended,
        arg_min(pupil_rounds, (round_order, academy_urn)) filter (where round_kind = 'actual')
            as first_actual,
        list(distinct round order by round) as rounds_returned,
        count(distinct round) filter (where round_kind = 'intended') as intended_rounds_returned
    from pupil_rounds
    group by leaving_year, upn
),

final as (
    select
        ---------- ids
        latest_any.leaving_year,
        latest_any.upn,
        latest_any.academy_urn,
        latest_any.academy_name,
        latest_any.la_code,
        latest_any.counts_in_trust_totals,

        ---------- pupil (latest round returned)
        latest_any.year_group,
        latest_any.key_stage,
        latest_any.sex,
        latest_any.sex_label,
        latest_any.is_disadvantaged,
        latest_any.disadvantage_label,
        latest_any.sen_provision,
        latest_any.sen_provision_label,
        latest_any.is_fsm_eligible,
        latest_any.is_looked_after,
        latest_any.ethnicity_major,

        ---------- rounds
        per_pupil.rounds_returned,
        per_pupil.intended_rounds_returned,

        ---------- latest intended round
        latest_intended.round as latest_intended_round,
        latest_intended.academy_urn as latest_intended_academy_urn,
        latest_intended.destination_code as intended_code,
        latest_intended.destination_group as intended_group,
        latest_intended.destination_sub_group as intended_sub_group,
        latest_intended.route as intended_route,
        latest_intended.september_guarantee,

        ---------- first actual round
        first_actual.round as actual_round,
        first_actual.destination_code as actual_code,
        first_actual.destination_group as actual_group,
        first_actual.destination_sub_group as actual_sub_group,
        first_actual.route as actual_route,

        -- not yet left: no actual destination returned for the pupil yet
        first_actual.round is null as is_current

    from per_pupil
)

select * from final
