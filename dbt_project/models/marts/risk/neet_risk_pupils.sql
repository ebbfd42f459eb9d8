-- NEET-risk list: current pupils (their academy has not returned an actual round for the
-- leaving year yet) from their latest intended round, with a transparent score: the sum of
-- the configured weights (config/neet_risk.yaml) of the factors that apply, reasons spelled out.
-- Pupil-level: only for users who may see pupil rows.
-- Rebuilt per leaving year (macros/by_leaving_year.sql): a pupil's row reads only its own year.
{{ config(**by_leaving_year()) }}
with

history as (
    select * from {{ ref('int_destinations__pupil_history') }}
    where {{ leaving_years_changed() }}
),

pupil_rounds as (
    select * from {{ ref('int_destinations__pupil_rounds') }}
    where {{ leaving_years_changed() }}
),

weights as (
    select * from {{ ref('stg_returns__neet_risk_weights') }}
),

academies as (
    select * from {{ ref('stg_returns__academies') }}
),

-- the optional name / admission number the pupil's own academy gave (personal: this list only)
-- (read twice: not materialized, so the return rows are not kept in memory between the reads)
pupil_names as not materialized (
    select * from {{ ref('stg_returns__pupil_names') }}
    where {{ leaving_years_changed() }}
),

latest_names as (
    select academy_urn, leaving_year, upn, arg_max(pupil_name, round) as pupil_name
    from pupil_names
    group by academy_urn, leaving_year, upn
),

-- academy x leaving year with an actual round returned: those pupils have left
left_already as (
    select distinct academy_urn, leaving_year
    from pupil_rounds
    where round_kind = 'actual'
),

current_pupils as (
    select history.*
    from history
    where history.latest_intended_round is not null
        and not exists (
            select 1 from left_already
            where left_already.academy_urn = history.latest_intended_academy_urn
                and left_already.leaving_year = history.leaving_year
        )
),

-- one row per pupil x factor that applies (September Guarantee: Years 11 and 12 only)
factors as (
    select current_pupils.leaving_year, current_pupils.upn, f.factor
    from current_pupils
    cross join lateral (
        values
            ('intended_neet', current_pupils.intended_group = 'neet'),
            ('undecided', current_pupils.intended_group = 'undecided'),
            ('intended_not_known', current_pupils.intended_group = 'not_known'),
            ('intended_other', current_pupils.intended_group = 'other'),
            ('no_september_guarantee_offer', current_pupils.year_group in (11, 12)
                and current_pupils.september_guarantee = 'no_offer'),
            ('september_guarantee_not_recorded', current_pupils.year_group in (11, 12)
                and coalesce(current_pupils.september_guarantee, 'not_recorded') = 'not_recorded'),
            ('looked_after', coalesce(current_pupils.is_looked_after, false)),
            ('ehc_plan', current_pupils.sen_provision = 'E'),
            ('sen_support', current_pupils.sen_provision = 'K'),
            ('disadvantaged', current_pupils.is_disadvantaged)
    ) as f(factor, applies)
    where f.applies
),

scored as (
    select
        factors.leaving_year,
        factors.upn,
        sum(weights.weight) as risk_score,
        list(factors.factor order by weights.weight desc, factors.factor) as risk_factors,
        string_agg(weights.reason || ' (+' || regexp_replace(cast(weights.weight as varchar), '\.0$', '') || ')', '; '
            order by weights.weight desc, factors.factor) as reasons
    from factors
    inner join weights on factors.factor = weights.factor and weights.weight <> 0
    group by factors.leaving_year, factors.upn
),

threshold as (
    select max(flag_threshold) as flag_threshold from weights
),

final as (
    select
        ---------- ids
        current_pupils.leaving_year,
        current_pupils.latest_intended_academy_urn as academy_urn,
        academies.academy_name,
        current_pupils.counts_in_trust_totals,
        current_pupils.upn,
        coalesce(intended_name.pupil_name, latest_names.pupil_name) as pupil_name,
        current_pupils.latest_intended_round as intended_round,

        ---------- pupil
        current_pupils.year_group,
        current_pupils.key_stage,
        current_pupils.sex_label,
        current_pupils.disadvantage_label,
        current_pupils.sen_provision_label,
        current_pupils.ethnicity_major,
        current_pupils.is_looked_after,

        ---------- intention
        current_pupils.intended_code,
        current_pupils.intended_group,
        current_pupils.intended_route,
        current_pupils.september_guarantee,

        ---------- risk
        coalesce(scored.risk_score, 0) as risk_score,
        coalesce(scored.risk_factors, []) as risk_factors,
        coalesce(scored.reasons, '') as reasons,
        threshold.flag_threshold,
        coalesce(scored.risk_score, 0) >= threshold.flag_threshold as is_flagged

    from current_pupils
    cross join threshold
    left join scored
        on current_pupils.leaving_year = scored.leaving_year
        and current_pupils.upn = scored.upn
    left join academies on current_pupils.latest_intended_academy_urn = academies.academy_urn
    left join pupil_names as intended_name
        on current_pupils.latest_intended_academy_urn = intended_name.academy_urn
        and current_pupils.leaving_year = intended_name.leaving_year
        and current_pupils.latest_intended_round = intended_name.round
        and current_pupils.upn = intended_name.upn
    left join latest_names
        on current_pupils.latest_intended_academy_urn = latest_names.academy_urn
        and current_pupils.leaving_year = latest_names.leaving_year
        and current_pupils.upn = latest_names.upn
)

select * from final
