-- What an academy may publish on its website (one row per academy x leaving year x key stage x
-- measure, first actual round, all leavers). Built ONLY from destination_measures_published:
-- the public-release rules coarsen cells that are already published and never reveal one the
-- published layer hides. Rules (dbt vars, research/domain.md §5):
--   td:public:min_cohort   a year with fewer leavers publishes no figure at all
--   td:public:min_count    a count of 1..n-1, or all but 1..n-1 of the leavers, is withheld
--                          (a count of 1..n-1 shows as "fewer than n pupils")
--   td:public:round_pct_to shares are rounded to the nearest this many percentage points
-- Then, within each additive set (leavers = EET + NEET + not known + other + ...; EET =
-- education + apprenticeship + employment + training; education = its five parts) a set with
-- exactly one withheld member loses its smallest other member too, so nothing is recovered
-- by subtraction. A measure not shown for the key stage counts as withheld unless it is zero.
{%- set min_cohort = var('td:public:min_cohort', 10) | int %}
{%- set min_count = var('td:public:min_count', 5) | int %}
{%- set round_to = var('td:public:round_pct_to', 5) | int %}
{%- set passes = var('td:public:secondary_passes', 3) | int %}
{#- measure, plain words, order, shown for KS4, shown for 16-18 #}
{%- set measures = [
    ('positive', 'In education, an apprenticeship, employment or training', 1, true, true),
    ('education', 'In education (all kinds)', 2, true, true),
    ('school_sixth_form', 'School sixth form', 3, true, false),
    ('sixth_form_college', 'Sixth-form college', 4, true, false),
    ('further_education', 'Further education college', 5, true, true),
    ('higher_education', 'University or other higher education', 6, false, true),
    ('other_education', 'Other education', 7, true, true),
    ('apprenticeship', 'Apprenticeship', 8, true, true),
    ('employment', 'Employment', 9, true, true),
    ('training', 'Training', 10, true, true),
    ('neet', 'Not in education, employment or training (NEET)', 11, true, true),
    ('not_known', 'Activity not known', 12, true, true),
    ('other', 'Gap year or re-engagement programme', 13, true, true),
    ('undecided', 'Undecided', 14, false, false),
    ('excluded', 'Other circumstances', 15, false, false),
] %}
{%- set sets = [
    ['cohort', ['positive', 'neet', 'not_known', 'other', 'undecided', 'excluded']],
    ['positive', ['education', 'apprenticeship', 'employment', 'training']],
    ['education', ['school_sixth_form', 'sixth_form_college', 'further_education', 'higher_education', 'other_education']],
] %}

with

published as (
    select * from {{ ref('destination_measures_published') }}
),

first_actual_round as (
    select round
    from published
    where round_kind = 'actual'
    group by round
    qualify row_number() over (order by min(round_order)) = 1
),

statement_rows as (
    select
        p.academy_urn,
        p.academy_name,
        p.leaving_year,
        p.key_stage,
        p.round,
        p.suppressed as published_row_suppressed,
        p.cohort,
        {%- for m in measures %}
        p.{{ m[0] }},
        {%- endfor %}
        p.suppression_status
    from published as p
    inner join first_actual_round using (round)
    where p.level = 'academy'
      and p.breakdown_topic = 'Total'
      and p.breakdown = 'Total'
      and p.suppression_status <> 'z'
),

long as (
    select
        r.academy_urn, r.academy_name, r.leaving_year, r.key_stage, r.round,
        r.cohort, r.published_row_suppressed,
        m.measure, m.measure_label, m.measure_order, m.shown_ks4, m.shown_1618,
        m.value
    from statement_rows as r
    cross join lateral (
        values
        {%- for m in measures %}
            ('{{ m[0] }}', '{{ m[1] }}', {{ m[2] }}, {{ m[3] }}, {{ m[4] }}, r.{{ m[0] }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as m(measure, measure_label, measure_order, shown_ks4, shown_1618, value)
),

sets as (
    select * from (
        values
        {%- for parent, children in sets %}
            {%- set set_loop = loop %}
            ('{{ parent }}', {{ set_loop.index }}){% for c in children %}, ('{{ c }}', {{ set_loop.index }}){% endfor %}{{ "," if not set_loop.last }}
        {%- endfor %}
    ) as s(measure, set_id)
),

pass_0 as (
    select
        *,
        case when key_stage = 'KS4' then shown_ks4 else shown_1618 end as displayed,
        case
            when published_row_suppressed or cohort is null then 'withheld in the published figures (small group)'
            when cohort < {{ min_cohort }} then 'fewer than {{ min_cohort }} leavers'
            when value is null then 'withheld in the published figures (small numbers)'
            when value between 1 and {{ min_count - 1 }} then 'fewer than {{ min_count }} pupils'
            when cohort - value between 1 and {{ min_count - 1 }} then 'all but a few leavers'
            when not (case when key_stage = 'KS4' then shown_ks4 else shown_1618 end) and value <> 0
                then 'not shown for this key stage'
        end as withheld_reason
    from long
),
{%- set ns = namespace(prev='pass_0') %}
{%- for i in range(1, passes + 1) %}

-- pass {{ i }}: an additive set with exactly one withheld member loses its smallest shown member
pass_{{ i }}_pick as (
    select
        c.academy_urn, c.leaving_year, c.key_stage,
        arg_min(c.measure, [case when c.value = 0 then 1 else 0 end, c.value, c.measure_order])
            filter (where c.withheld_reason is null and c.displayed) as measure
    from {{ ns.prev }} as c
    inner join sets as s on c.measure = s.measure
    group by c.academy_urn, c.leaving_year, c.key_stage, s.set_id
    having count_if(c.withheld_reason is not null) = 1
        and count_if(c.withheld_reason is null and c.displayed) > 0
),

pass_{{ i }} as (
    select
        c.* replace (
            coalesce(c.withheld_reason,
                     case when p.measure is not null then 'withheld so that another figure cannot be worked out' end)
                as withheld_reason
        )
    from {{ ns.prev }} as c
    left join (select distinct academy_urn, leaving_year, key_stage, measure from pass_{{ i }}_pick) as p
        on c.academy_urn = p.academy_urn and c.leaving_year = p.leaving_year
        and c.key_stage = p.key_stage and c.measure = p.measure
),
{%- set ns.prev = 'pass_' ~ i %}
{%- endfor %}

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
        case when c.published_row_suppressed or c.cohort is null or c.cohort < {{ min_cohort }} then null
             else c.cohort end as leavers,
        case when c.published_row_suppressed or c.cohort is null then 'not published'
             when c.cohort < {{ min_cohort }} then 'fewer than {{ min_cohort }}'
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
    from {{ ns.prev }} as c
    left join national as n
        on n.academy_urn = c.academy_urn and n.leaving_year = c.leaving_year
        and n.key_stage = c.key_stage and n.measure = c.measure
)

select * from final
where displayed
