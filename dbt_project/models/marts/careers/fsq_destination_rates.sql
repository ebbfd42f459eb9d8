-- Destination outcomes by FSQ readiness band, one row per level (academy | trust) x
-- academy_urn (null for trust rows) x leaving_year x key_stage x readiness_band ('All' + the
-- configured bands + 'No FSQ') x breakdown_topic x breakdown. Shares are of cohort (leavers in
-- the NEET denominator). Topic 'Compass provision' splits by the academy's benchmarks fully
-- achieved in its latest evaluation of the leaving year (strong provision = 6 or more, var
-- td:careers:strong_provision_benchmarks), to see whether the readiness gap closes there.
-- Every row is within one leaving year: rebuilt per leaving year (macros/by_leaving_year.sql).
{{ config(**by_leaving_year()) }}

with

linkage as (
    select * from {{ ref('fsq_destination_linkage') }}
    where {{ leaving_years_changed() }}
),

-- pupils alike in every key and label below counted once first: the expansion below (two
-- bands x five topics x two levels) then multiplies groups, not pupils
grouped as (
    select
        academy_urn,
        leaving_year,
        key_stage,
        readiness_band,
        readiness_band_order,
        disadvantage_label,
        sen_provision_label,
        sex_label,
        compass_provision_group,
        count(*) as cohort,
        count_if(is_positive_destination) as positive,
        count_if(is_neet) as neet,
        count_if(is_not_known) as not_known,
        count_if(has_fsq) as with_fsq,
        sum(readiness_pct) as readiness_pct_sum,
        count(readiness_pct) as readiness_pct_count
    from linkage
    group by all
),

expanded as (
    select
        linkage.*,
        band.readiness_band as band,
        band.band_order,
        topic.breakdown_topic,
        topic.breakdown
    from grouped as linkage
    cross join lateral (
        values ('All', -1), (linkage.readiness_band, linkage.readiness_band_order)
    ) as band(readiness_band, band_order)
    cross join lateral (
        values
            ('Total', 'Total'),
            ('Disadvantage', linkage.disadvantage_label),
            ('SEN provision', linkage.sen_provision_label),
            ('Sex', linkage.sex_label),
            ('Compass provision', linkage.compass_provision_group)
    ) as topic(breakdown_topic, breakdown)
),

levels as (
    select 'academy' as level, academy_urn as level_urn, * from expanded
    union all
    select 'trust' as level, null as level_urn, * from expanded
),

counts as (
    select
        level,
        level_urn as academy_urn,
        leaving_year,
        key_stage,
        band as readiness_band,
        band_order as readiness_band_order,
        breakdown_topic,
        breakdown,
        sum(cohort)::bigint as cohort,
        sum(positive) as positive,
        sum(neet) as neet,
        sum(not_known) as not_known,
        sum(cohort) - sum(positive) - sum(neet) - sum(not_known) as other,
        sum(with_fsq) as with_fsq,
        sum(readiness_pct_sum) / sum(readiness_pct_count) as mean_readiness_pct
    from levels
    group by level, level_urn, leaving_year, key_stage, band, band_order, breakdown_topic, breakdown
)

select
    *,
    {{ pct('positive', 'cohort') }} as positive_pct,
    {{ pct('neet', 'cohort') }} as neet_pct,
    {{ pct('not_known', 'cohort') }} as not_known_pct,
    {{ pct('other', 'cohort') }} as other_pct,
    {{ pct('with_fsq', 'cohort') }} as with_fsq_pct
from counts
