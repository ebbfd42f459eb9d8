-- Pupil x round facts: each returned row with its code group, round kind, key stage,
-- DfE breakdown labels and whether its academy counts in trust totals that year.
-- Rebuilt per leaving year (macros/by_leaving_year.sql).
{{ config(**by_leaving_year()) }}
{%- set joined_by = var('td:trust_totals:joined_by_month_day', '09-01') %}

with

returns as (
    select * from {{ ref('stg_returns__destination_returns') }}
    where {{ leaving_years_changed() }}
),

codes as (
    select * from {{ ref('destination_codes') }}
),

rounds as (
    select * from {{ ref('stg_returns__rounds') }}
),

academies as (
    select * from {{ ref('stg_returns__academies') }}
),

key_stages as (
    select * from {{ ref('key_stages') }}
),

sen as (
    select * from {{ ref('sen_provisions') }}
),

ethnicity as (
    select * from {{ ref('ethnicity_major') }}
),

joined as (
    select
        ---------- ids
        returns.academy_urn,
        returns.leaving_year,
        returns.round,
        returns.upn,
        returns.is_temporary_upn,

        ---------- round
        rounds.round_kind,
        rounds.round_order,
        rounds.round_label,

        ---------- academy
        academies.academy_name,
        academies.la_code,
        academies.joined_trust_on,
        -- counts in trust totals if it joined by the cut-off at the start of the leaving year
        coalesce(
            academies.joined_trust_on <= strptime(
                left(returns.leaving_year, 4) || '-{{ joined_by }}', '%Y-%m-%d'
            )::date,
            false
        ) as counts_in_trust_totals,

        ---------- pupil
        returns.year_group,
        key_stages.key_stage,
        returns.sex,
        case returns.sex when 'F' then 'Female' when 'M' then 'Male' end as sex_label,
        returns.is_disadvantaged,
        case when returns.is_disadvantaged then 'Disadvantaged' else 'Not disadvantaged' end
            as disadvantage_label,
        returns.sen_provision,
        sen.sen_provision_label,
        returns.is_fsm_eligible,
        returns.is_looked_after,
        returns.ethnicity,
        -- missing or unlisted codes roll up to Unclassified (DfE)
        coalesce(ethnicity.ethnicity_major, 'Unclassified') as ethnicity_major,

        ---------- destination
        returns.destination_code,
        codes.label as destination_label,
        codes.destination_group,
        codes.destination_sub_group,
        codes.in_neet_denominator,
        returns.route,
        returns.provider,
        returns.provider_id,
        returns.qualification_level,
        returns.september_guarantee,
        returns.has_consent_follow_up,
        returns.date_ascertained,

        ---------- lineage
        returns.source_file,
        returns.source_row

    from returns
    left join codes on returns.destination_code = codes.destination_code
    left join rounds on returns.round = rounds.round
    left join academies on returns.academy_urn = academies.academy_urn
    left join key_stages on returns.year_group = key_stages.year_group
    left join sen on returns.sen_provision = sen.sen_provision
    left join ethnicity on returns.ethnicity = ethnicity.ethnicity_code
)

select * from joined
