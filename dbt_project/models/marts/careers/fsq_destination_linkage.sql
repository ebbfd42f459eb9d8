-- Pupil level (contains UPNs: for users allowed to see pupil rows). One row per leaver in the
-- actual-destination round R3 (leaving year x UPN), linked by UPN to their latest FSQ with
-- answers to the readiness constructs taken before the end of the leaving year (31 August).
-- readiness_band from raw.fsq_readiness_bands; 'No FSQ' when no such survey exists.
-- Leavers with custody / historic codes (outside the NEET denominator) are left out.
-- A leaving year's rows read only that year's returns: rebuilt per leaving year (macros/by_leaving_year.sql).
{{ config(**by_leaving_year()) }}

with

returns as (
    select * from {{ source('raw', 'destination_returns') }}
    where round = 'R3' and {{ leaving_years_changed() }}
),

codes as (
    select * from {{ ref('destination_codes') }}
),

surveys as (
    select * from {{ ref('int_careers__fsq_pupil_surveys') }}
    where readiness_answers > 0
),

bands as (
    select * from {{ ref('stg_careers__fsq_readiness_bands') }}
),

compass as (
    select * from {{ ref('int_careers__compass_evaluations') }}
    where is_latest_in_academic_year
),

leavers as (
    select
        cast(returns.academy_urn as varchar) as academy_urn,
        returns.leaving_year,
        case when returns.year_group = 11 then 'KS4' else '16-18' end as key_stage,
        upper(trim(returns.upn)) as upn,
        returns.upn_is_temporary as is_temporary_upn,
        returns.sex,
        returns.disadvantaged,
        returns.sen_provision,
        upper(trim(returns.destination_code)) as destination_code,
        make_date(cast(left(returns.leaving_year, 4) as integer) + 1, 8, 31) as left_by,
        row_number() over (partition by upper(trim(returns.upn)), returns.leaving_year
                           order by returns.academy_urn) as _rank
    from returns
),

latest_fsq as (
    select
        leavers.upn,
        leavers.leaving_year,
        arg_max(surveys, surveys.survey_date) as fsq
    from leavers
    inner join surveys
        on leavers.upn = surveys.upn
        and surveys.survey_date <= leavers.left_by
    where leavers._rank = 1
    group by all
),

linked as (
    select
        leavers.academy_urn,
        leavers.leaving_year,
        leavers.key_stage,
        leavers.upn,
        case leavers.sex when 'F' then 'Female' when 'M' then 'Male' else 'Unknown' end as sex_label,
        case when leavers.disadvantaged then 'Disadvantaged' else 'Not disadvantaged' end
            as disadvantage_label,
        case leavers.sen_provision when 'N' then 'No SEN' when 'K' then 'SEN support'
            when 'E' then 'EHC plan' else 'Unknown' end as sen_provision_label,
        leavers.destination_code,
        codes.destination_group,
        codes.destination_sub_group,
        codes.destination_group in ('education', 'apprenticeship', 'employment', 'training')
            as is_positive_destination,
        codes.destination_group = 'neet' as is_neet,
        codes.destination_group = 'not_known' as is_not_known,
        latest_fsq.fsq is not null as has_fsq,
        latest_fsq.fsq.academy_urn as fsq_academy_urn,
        latest_fsq.fsq.academic_year as fsq_academic_year,
        latest_fsq.fsq.survey_round as fsq_survey_round,
        latest_fsq.fsq.survey_date as fsq_survey_date,
        latest_fsq.fsq.year_group as fsq_year_group,
        -- the mart's published type (HUGEINT) as before the pupil surveys' counts became bigint
        cast(latest_fsq.fsq.readiness_answers as hugeint) as readiness_answers,
        cast(latest_fsq.fsq.readiness_positive as hugeint) as readiness_positive,
        latest_fsq.fsq.readiness_pct as readiness_pct,
        latest_fsq.fsq.skills_pct as skills_pct
    from leavers
    left join codes on leavers.destination_code = codes.destination_code
    left join latest_fsq on leavers.upn = latest_fsq.upn and leavers.leaving_year = latest_fsq.leaving_year
    where leavers._rank = 1
        and coalesce(codes.in_neet_denominator, true)
)

select
    linked.*,
    coalesce(bands.readiness_band, 'No FSQ') as readiness_band,
    coalesce(bands.band_order, 0) as readiness_band_order,
    compass.framework_version as compass_framework_version,
    compass.benchmarks_fully_achieved as compass_benchmarks_fully_achieved,
    case
        when compass.benchmarks_fully_achieved is null then 'No evaluation'
        when compass.benchmarks_fully_achieved >= {{ var('td:careers:strong_provision_benchmarks', 6) }}
            then '{{ var('td:careers:strong_provision_benchmarks', 6) }} or more benchmarks'
        else 'Fewer than {{ var('td:careers:strong_provision_benchmarks', 6) }} benchmarks'
    end as compass_provision_group
from linked
left join bands
    on linked.readiness_pct >= bands.min_pct
    and (linked.readiness_pct < bands.max_pct or (bands.is_top_band and linked.readiness_pct <= bands.max_pct))
left join compass
    on linked.academy_urn = compass.academy_urn
    and linked.leaving_year = compass.academic_year
