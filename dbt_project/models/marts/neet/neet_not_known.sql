-- NEET and not known rates (NCCIS style, research/domain.md §9.1) of actual rounds per level x
-- academy x leaving year x key stage x round x breakdown, with LA and England comparators.
-- Denominator: the cohort without 710/720 (in_neet_denominator = false in the code seed).
-- Rebuilt per leaving year (macros/by_leaving_year.sql).
{{ config(**by_leaving_year()) }}
with

pupils as (
    select * from {{ ref('int_destinations__pupil_breakdowns') }}
    where round_kind = 'actual' and {{ leaving_years_changed() }}
),

nccis as (
    select * from {{ ref('int_benchmarks__nccis_la') }}
),

academies as (
    select * from {{ ref('stg_returns__academies') }}
),

-- the trust's LA only when all its counted academies share one
all_counts as (
    {{ academy_and_trust_counts('pupils', ['leaving_year', 'key_stage', 'round', 'breakdown_topic', 'breakdown'],
                                pupil_sums(neet_count_definitions()),
                                per_level=[('la_code', 'min(la_code)',
                                            'case when count(distinct la_code) = 1 then min(la_code) end')],
                                grouped_by=['la_code', 'in_neet_denominator', 'destination_group',
                                            'destination_sub_group']) }}
),

-- the NCCIS year matching the leaving year, else the latest earlier one available
la_comparator as (
    select
        all_counts.level, all_counts.academy_urn, all_counts.leaving_year, all_counts.la_code,
        nccis.leaving_year as comparator_leaving_year,
        nccis.la_name,
        nccis.neet_pct as la_neet_pct,
        nccis.not_known_pct as la_not_known_pct,
        nccis.neet_not_known_pct as la_neet_not_known_pct,
        nccis.publication as comparator_publication
    from (select distinct level, academy_urn, leaving_year, la_code from all_counts) as all_counts
    inner join nccis
        on all_counts.la_code = nccis.la_code
        and nccis.leaving_year <= all_counts.leaving_year
    -- per LA too: the trust's LA can differ by key stage (e.g. one sixth form in another LA)
    qualify row_number() over (
        partition by all_counts.level, all_counts.academy_urn, all_counts.leaving_year, all_counts.la_code
        order by nccis.leaving_year desc
    ) = 1
),

england as (
    select distinct leaving_year, england_neet_pct, england_not_known_pct, england_neet_not_known_pct
    from nccis
    where england_neet_not_known_pct is not null
),

england_comparator as (
    select
        years.leaving_year,
        england.leaving_year as england_leaving_year,
        england.england_neet_pct,
        england.england_not_known_pct,
        england.england_neet_not_known_pct
    from (select distinct leaving_year from all_counts) as years
    inner join england on england.leaving_year <= years.leaving_year
    qualify row_number() over (partition by years.leaving_year order by england.leaving_year desc) = 1
),

final as (
    select
        ---------- keys
        all_counts.level,
        all_counts.academy_urn,
        academies.academy_name,
        all_counts.counts_in_trust_totals,
        all_counts.la_code,
        la_comparator.la_name,
        all_counts.leaving_year,
        all_counts.key_stage,
        all_counts.round,
        all_counts.breakdown_topic,
        all_counts.breakdown,

        ---------- counts
        cast(all_counts.cohort as bigint) as cohort,
        cast(all_counts.excluded as bigint) as excluded,
        cast(all_counts.neet_denominator as bigint) as neet_denominator,
        cast(all_counts.neet as bigint) as neet,
        cast(all_counts.neet_active as bigint) as neet_active,
        cast(all_counts.neet_inactive as bigint) as neet_inactive,
        cast(all_counts.not_known as bigint) as not_known,
        cast(all_counts.neet_not_known as bigint) as neet_not_known,

        ---------- rates (unrounded, 0-100, of neet_denominator)
        {{ pct('all_counts.neet', 'all_counts.neet_denominator') }} as neet_pct,
        {{ pct('all_counts.not_known', 'all_counts.neet_denominator') }} as not_known_pct,
        {{ pct('all_counts.neet_not_known', 'all_counts.neet_denominator') }} as neet_not_known_pct,

        ---------- comparators (NCCIS 16-17; Total figures, whatever the breakdown)
        la_comparator.la_neet_pct,
        la_comparator.la_not_known_pct,
        la_comparator.la_neet_not_known_pct,
        england_comparator.england_neet_pct,
        england_comparator.england_not_known_pct,
        england_comparator.england_neet_not_known_pct,
        la_comparator.comparator_leaving_year as la_comparator_leaving_year,
        england_comparator.england_leaving_year as england_comparator_leaving_year,
        coalesce(la_comparator.comparator_leaving_year, england_comparator.england_leaving_year)
            = all_counts.leaving_year as comparator_is_same_year,
        la_comparator.comparator_publication

    from all_counts
    left join la_comparator
        on {{ td_same_row('all_counts', 'la_comparator', ['level', 'academy_urn', 'leaving_year', 'la_code']) }}
    left join england_comparator on all_counts.leaving_year = england_comparator.leaving_year
    left join academies on all_counts.academy_urn = academies.academy_urn
)

select * from final
