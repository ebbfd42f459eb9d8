-- What an academy may publish on its website (one row per academy x leaving year x key stage x
-- measure printed for that key stage, first actual round, all leavers). Which figures are
-- withheld is decided once, by the disclosure engine (int_disclosure__public_cells: the published
-- decision carried over, plus the engine on these rows with the stricter public thresholds);
-- the figures are the published cells (destination_measures_published). This model only words
-- and rounds them (dbt vars, research/domain.md §5):
--   td:public:min_cohort   a year with fewer leavers publishes no figure at all
--   td:public:min_count    a count of 1..n-1 shows as "fewer than n pupils"
--   td:public:round_pct_to shares are rounded to the nearest this many percentage points
{%- set min_cohort = var('td:public:min_cohort', 10) | int %}
{%- set min_count = var('td:public:min_count', 5) | int %}
{%- set round_to = var('td:public:round_pct_to', 5) | int %}
{#- the measures a statement can print (their labels and order: seed `measures`) #}
{%- set measures = ['positive', 'education', 'school_sixth_form', 'sixth_form_college', 'further_education',
    'higher_education', 'other_education', 'apprenticeship', 'employment', 'training', 'neet', 'not_known',
    'other'] %}

with

published as (
    select * from {{ ref('destination_measures_published') }}
    where level = 'academy' and breakdown_topic = 'Total' and breakdown = 'Total'
),

decision as (
    select * from {{ ref('int_disclosure__public_cells') }}
),

labels as (
    select measure, measure_label, measure_order from {{ ref('measures') }}
),

-- the leavers row of each statement (its decision on `cohort`)
leavers as (
    select academy_urn, leaving_year, key_stage, round, hidden as leavers_hidden, reason as leavers_reason
    from decision
    where measure = 'cohort'
),

long as (
    select
        d.academy_urn, p.academy_name, d.leaving_year, d.key_stage, d.round,
        p.cohort, p.suppressed as published_row_suppressed,
        lv.leavers_hidden, lv.leavers_reason,
        d.measure, l.measure_label, l.measure_order, d.printed as displayed, d.hidden, d.reason,
        case d.measure
            {%- for m in measures %}
            when '{{ m }}' then p.{{ m }}
            {%- endfor %}
        end as value
    from decision as d
    inner join labels as l using (measure)
    inner join leavers as lv using (academy_urn, leaving_year, key_stage, round)
    inner join published as p using (academy_urn, leaving_year, key_stage, round)
    where d.printed
),

worded as (
    select
        *,
        case
            when published_row_suppressed or (leavers_hidden and leavers_reason = 'published')
                then 'withheld in the published figures (small group)'
            when leavers_hidden and cohort < {{ min_cohort }} then 'fewer than {{ min_cohort }} leavers'
            when leavers_hidden then 'withheld so that another figure cannot be worked out'
            when hidden and reason = 'published' then 'withheld in the published figures (small numbers)'
            when hidden and reason like 'primary%' and value between 1 and {{ min_count - 1 }}
                then 'fewer than {{ min_count }} pupils'
            when hidden and reason like 'primary%' and cohort - value between 1 and {{ min_count - 1 }}
                then 'all but a few leavers'
            when hidden then 'withheld so that another figure cannot be worked out'
        end as withheld_reason
    from long
),

national as (
    select academy_urn, leaving_year, key_stage, replace(measure, '_pct', '') as measure,
           national_value, benchmark_leaving_year, benchmark_source, benchmark_publication, caveat
    from {{ ref('benchmark_national_comparison_published') }}
    where level = 'academy' and breakdown_topic = 'Total' and breakdown = 'Total'
),

final as (
    select
        c.academy_urn,
        c.academy_name,
        c.leaving_year,
        c.key_stage,
        c.round,
        case when c.leavers_hidden or c.published_row_suppressed or c.cohort is null then null else c.cohort end as leavers,
        case when c.published_row_suppressed or c.cohort is null or c.leavers_reason = 'published' then 'not published'
             when c.leavers_hidden and c.cohort < {{ min_cohort }} then 'fewer than {{ min_cohort }}'
             when c.leavers_hidden then 'not published'
             else cast(c.cohort as varchar) end as leavers_text,
        c.measure,
        c.measure_label,
        c.measure_order,
        c.displayed,
        case when c.withheld_reason is null
             then round(100.0 * c.value / c.cohort / {{ round_to }}) * {{ round_to }} end as public_pct,
        case
            when c.withheld_reason = 'fewer than {{ min_count }} pupils' then 'fewer than {{ min_count }} pupils'
            when c.withheld_reason is not null then 'not published'
            when c.value > 0 and round(100.0 * c.value / c.cohort / {{ round_to }}) = 0 then 'less than {{ round_to }}%'
            when c.value < c.cohort and round(100.0 * c.value / c.cohort / {{ round_to }}) * {{ round_to }} = 100
                then 'more than {{ 100 - round_to }}%'
            else cast(cast(round(100.0 * c.value / c.cohort / {{ round_to }}) * {{ round_to }} as integer) as varchar) || '%'
        end as public_text,
        c.withheld_reason,
        n.national_value as national_pct,
        n.benchmark_leaving_year as national_leaving_year,
        n.benchmark_source as national_source,
        n.benchmark_publication as national_publication,
        n.caveat as national_caveat,
        {{ min_cohort }} as rule_min_cohort,
        {{ min_count }} as rule_min_count,
        {{ round_to }} as rule_round_pct_to
    from worded as c
    left join national as n
        on n.academy_urn = c.academy_urn and n.leaving_year = c.leaving_year
        and n.key_stage = c.key_stage and n.measure = c.measure
)

select * from final
where displayed
