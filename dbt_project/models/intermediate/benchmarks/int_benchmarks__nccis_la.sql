-- NCCIS 16-17 NEET / not known per local authority and year, with England and the region
-- beside it, for joining to an academy's NEET rate via the academy's `la_code`.
-- `period` 2025 = average of end Dec 2024, Jan and Feb 2025 (academic year 2024-25); the
-- 16-year-olds in it left Year 11 in 2023-24, whose R3 (autumn after leaving) falls in the
-- same window, hence `leaving_year` = period - 2 .. period - 1.
with

nccis as (
    select * from {{ ref('stg_benchmarks__measures') }}
    where source = 'nccis_neet'
      and is_latest
      and breakdown_topic = 'Total'
      and measure in ('neet_pct', 'not_known_pct', 'neet_not_known_pct', 'participation_pct',
                      'september_guarantee_offer_pct', 'cohort')
),

wide as (
    select
        geography_level,
        geography_code,
        min(geography_name) as geography_name,  -- min, not any_value: the same every run
        period,
        min(destination_year) filter (where measure <> 'september_guarantee_offer_pct') as destination_year,
        min(publication) as publication,
        max(value) filter (where measure = 'cohort') as cohort,
        max(value) filter (where measure = 'neet_pct') as neet_pct,
        max(value) filter (where measure = 'not_known_pct') as not_known_pct,
        max(value) filter (where measure = 'neet_not_known_pct') as neet_not_known_pct,
        max(value) filter (where measure = 'participation_pct') as participation_pct,
        max(value) filter (where measure = 'september_guarantee_offer_pct') as september_guarantee_offer_pct,
        bool_or(suppressed) as any_suppressed,
        min(caveat) filter (where measure = 'neet_not_known_pct') as caveat
    from nccis
    group by geography_level, geography_code, period
),

england as (
    select * from wide where geography_level = 'national'
)

select
    la.geography_code as la_code,
    la.geography_name as la_name,
    la.period,
    la.destination_year,
    cast(cast(la.period as integer) - 2 as varchar) || '-'
        || lpad(cast((cast(la.period as integer) - 1) % 100 as varchar), 2, '0') as leaving_year,
    la.cohort,
    la.neet_pct,
    la.not_known_pct,
    la.neet_not_known_pct,
    la.participation_pct,
    la.september_guarantee_offer_pct,
    la.any_suppressed,
    england.neet_pct as england_neet_pct,
    england.not_known_pct as england_not_known_pct,
    england.neet_not_known_pct as england_neet_not_known_pct,
    england.participation_pct as england_participation_pct,
    england.september_guarantee_offer_pct as england_september_guarantee_offer_pct,
    la.publication,
    la.caveat
from wide as la
left join england on la.period = england.period
where la.geography_level = 'la'
