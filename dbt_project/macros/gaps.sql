{#- Gaps between a group and its comparison group (seeds/gap_definitions.csv) for each measure
    of seeds/gap_measures.csv, from a destination_measures-shaped relation, with the national
    gap from benchmark_measures for the same leaving year and key stage (null where DfE has
    not published one) and the latest national gap available. Shared by destination_gaps and
    destination_gaps_published (fed the suppressed measures, so suppressed shares give null
    gaps). -#}
{% macro destination_gaps_sql(measures_relation) %}
with

measures as (
    select * from {{ measures_relation }}
),

gaps as (
    select * from {{ ref('gap_definitions') }}
),

gap_measures as (
    select * from {{ ref('gap_measures') }}
),

benchmarks as (
    select * from {{ ref('benchmark_measures') }}
),

-- one national figure per leaving year x key stage x breakdown x measure: latest publication,
-- DfE destination measures before performance tables, mainstream institutions first
national as (
    select leaving_year, key_stage, breakdown_topic, breakdown, measure, value, source, publication
    from benchmarks
    where geography_level = 'national'
        and is_latest
        and value is not null
        and leaving_year is not null
        and source in ('ees_ks4_destinations', 'ees_1618_destinations',
                       'performance_tables_ks4', 'performance_tables_1618')
    qualify row_number() over (
        partition by leaving_year, key_stage, breakdown_topic, breakdown, measure
        order by
            case when source like 'ees_%' then 0 else 1 end,
            case institution_group when 'mainstream' then 0 when 'mainstream and special' then 1
                when 'all' then 2 else 3 end,
            publication desc
    ) = 1
),

national_gaps as (
    select
        g.gap,
        grp.leaving_year,
        grp.key_stage,
        grp.measure as national_measure,
        grp.value as national_group_pct,
        cmp.value as national_comparison_pct,
        grp.value - cmp.value as national_gap_pp,
        grp.source || ' (' || grp.publication || ')' as national_source
    from gaps as g
    inner join national as grp
        on grp.breakdown_topic = g.breakdown_topic and grp.breakdown = g.group_breakdown
    inner join national as cmp
        on cmp.breakdown_topic = g.breakdown_topic and cmp.breakdown = g.comparison_breakdown
        and cmp.leaving_year = grp.leaving_year and cmp.key_stage = grp.key_stage
        and cmp.measure = grp.measure
),

-- long: one row per measures row x gap measure
long as (
    select
        m.level, m.academy_urn, m.academy_name, m.leaving_year, m.key_stage, m.round,
        m.breakdown_topic, m.breakdown, m.cohort,
        gm.measure, gm.national_measure, gm.national_note, gm.measure_order,
        case gm.measure
            {%- for name in ['positive', 'education', 'apprenticeship', 'neet'] %}
            when '{{ name }}' then m.{{ name }}_pct
            {%- endfor %}
        end as pct
    from measures as m
    cross join gap_measures as gm
),

paired as (
    select
        grp.level,
        grp.academy_urn,
        grp.academy_name,
        grp.leaving_year,
        grp.key_stage,
        grp.round,
        g.gap,
        g.gap_order,
        g.group_breakdown,
        g.comparison_breakdown,
        grp.measure,
        grp.measure_order,
        grp.national_measure,
        grp.national_note,
        grp.cohort as group_cohort,
        cmp.cohort as comparison_cohort,
        grp.pct as group_pct,
        cmp.pct as comparison_pct,
        -- no gap without pupils on both sides
        case when grp.cohort > 0 and cmp.cohort > 0 then grp.pct - cmp.pct end as gap_pp
    from gaps as g
    inner join long as grp
        on grp.breakdown_topic = g.breakdown_topic and grp.breakdown = g.group_breakdown
    inner join long as cmp
        on cmp.breakdown_topic = g.breakdown_topic and cmp.breakdown = g.comparison_breakdown
        and {{ td_same_row('cmp', 'grp', ['level', 'academy_urn', 'leaving_year', 'key_stage', 'round', 'measure']) }}
),

latest_national as (
    select *
    from national_gaps
    qualify row_number() over (
        partition by gap, key_stage, national_measure order by leaving_year desc
    ) = 1
),

final as (
    select
        paired.*,
        same_year.national_group_pct,
        same_year.national_comparison_pct,
        same_year.national_gap_pp,
        same_year.national_source,
        paired.gap_pp - same_year.national_gap_pp as gap_vs_national_pp,
        latest_national.leaving_year as latest_national_leaving_year,
        latest_national.national_gap_pp as latest_national_gap_pp,
        latest_national.national_source as latest_national_source
    from paired
    left join national_gaps as same_year
        on same_year.gap = paired.gap
        and same_year.leaving_year = paired.leaving_year
        and same_year.key_stage = paired.key_stage
        and same_year.national_measure = paired.national_measure
    left join latest_national
        on latest_national.gap = paired.gap
        and latest_national.key_stage = paired.key_stage
        and latest_national.national_measure = paired.national_measure
)

select * from final
{% endmacro %}
