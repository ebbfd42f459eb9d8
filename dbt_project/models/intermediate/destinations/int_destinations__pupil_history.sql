-- One row per pupil x leaving year: where the pupil stood in each kind of round.
-- Latest intended round and first actual round drive reconciliation and NEET risk.
-- Rebuilt per leaving year (macros/by_leaving_year.sql).
{{ config(**by_leaving_year()) }}
with

pupil_rounds as not materialized (
    select * from {{ ref('int_destinations__pupil_rounds') }}
    where {{ leaving_years_changed() }}
),

-- Per pupil only fixed-size aggregates (integers), then the chosen rows joined back: DuckDB
-- spills these and hash joins, but not two row-sized aggregates (arg_min of a row, a list) in
-- one group by, which ran out of memory at national size.
-- Academies numbered in academy_urn order and rounds in round order, so that a row's place in
-- a pupil's history is one integer and the rounds returned one bitmask (up to 63 rounds).
academy_numbers as (
    select academy_urn, row_number() over (order by academy_urn) as academy_number
    from (select distinct academy_urn from pupil_rounds)
),

round_bits as (
    select round, row_number() over (order by round) - 1 as round_bit
    from (select distinct round from pupil_rounds)
),

-- a pupil is keyed by UPN within a leaving year (a UPN is returned by one academy per round,
-- and round_order is unique per round, so a key picks one row of a pupil).
-- latest_key: the latest round first, ties on round broken by academy_urn;
-- earliest_key: the earliest round first, ties broken by academy_urn.
keyed as not materialized (
    select
        pupil_rounds.*,
        -round_order::bigint * 4294967296 + academy_numbers.academy_number as latest_key,
        round_order::bigint * 4294967296 + academy_numbers.academy_number as earliest_key,
        1::bigint << round_bits.round_bit as round_flag
    from pupil_rounds
    inner join academy_numbers on pupil_rounds.academy_urn = academy_numbers.academy_urn
    inner join round_bits on pupil_rounds.round = round_bits.round
),

per_pupil as (
    select
        leaving_year,
        upn,
        min(latest_key) as latest_any_key,
        min(latest_key) filter (where round_kind = 'intended') as latest_intended_key,
        min(earliest_key) filter (where round_kind = 'actual') as first_actual_key,
        bit_or(round_flag) as rounds_mask,
        bit_or(round_flag) filter (where round_kind = 'intended') as intended_rounds_mask
    from keyed
    group by leaving_year, upn
),

-- each set of rounds returned as the list of its rounds in round order
round_lists as (
    select masks.rounds_mask, list(round_bits.round order by round_bits.round) as rounds_returned
    from (select distinct rounds_mask from per_pupil) as masks
    inner join round_bits on masks.rounds_mask & (1::bigint << round_bits.round_bit) <> 0
    group by masks.rounds_mask
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
        round_lists.rounds_returned,
        coalesce(bit_count(per_pupil.intended_rounds_mask), 0)::bigint as intended_rounds_returned,

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
    inner join round_lists on per_pupil.rounds_mask = round_lists.rounds_mask
    inner join keyed as latest_any
        on per_pupil.leaving_year = latest_any.leaving_year
        and per_pupil.upn = latest_any.upn
        and per_pupil.latest_any_key = latest_any.latest_key
    left join keyed as latest_intended
        on per_pupil.leaving_year = latest_intended.leaving_year
        and per_pupil.upn = latest_intended.upn
        and per_pupil.latest_intended_key = latest_intended.latest_key
    left join keyed as first_actual
        on per_pupil.leaving_year = first_actual.leaving_year
        and per_pupil.upn = first_actual.upn
        and per_pupil.first_actual_key = first_actual.earliest_key
)

select * from final
