-- Trust and academy actual destinations (first actual round, R3) against the national
-- figure for the same sub-group and key stage, one row per level x academy x leaving year x
-- key stage x breakdown x measure. The national figure is for the same leaving year when
-- DfE has published it, else the latest earlier year (flagged: DfE publishes two years late).
{%- set measures = ['positive_pct', 'education_pct', 'further_education_pct', 'school_sixth_form_pct',
                    'sixth_form_college_pct', 'higher_education_pct', 'other_education_pct',
                    'apprenticeship_pct', 'employment_pct'] %}
with

trust as (
    select dm.*
    from {{ ref('int_benchmarks__trust_first_actual_round') }} as dm
    where dm.cohort > 0
),

trust_long as (
    {%- for m in measures %}
    select level, academy_urn, academy_name, leaving_year, key_stage, round, breakdown_topic, breakdown,
           topic_order, breakdown_order, cohort, '{{ m }}' as measure, cast({{ m }} as double) as trust_value
    from trust
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

national as (
    select
        b.*,
        case when b.source like 'ees_%' then 1 when b.source like 'performance_tables_%' then 2 else 3 end
            as source_rank,
        case
            when b.key_stage = 'KS4' and b.institution_group = 'mainstream and special' then 1
            when b.key_stage = '16-18' and b.institution_group = 'mainstream' then 1
            when b.institution_group = 'mainstream' then 2
            else 3
        end as group_rank
    from {{ ref('stg_benchmarks__measures') }} as b
    where b.geography_level = 'national'
      and b.is_latest
      and b.value is not null
      and b.key_stage in ('KS4', '16-18')
      and b.leaving_year is not null
),

national_cohort as (
    select source, publication, leaving_year, key_stage, institution_group, breakdown_topic, breakdown,
           max(value) as national_cohort
    from national
    where measure = 'cohort'
    group by all
),

-- the national figure a trust figure is compared with depends only on its leaving year, key
-- stage, breakdown and measure: picked once per such key, not once per academy row (the
-- join of every academy row with every earlier year ran out of memory at national size)
wanted as (
    select distinct leaving_year, key_stage, breakdown_topic, breakdown, measure
    from trust_long
),

picked as (
    select
        w.leaving_year,
        w.key_stage,
        w.breakdown_topic,
        w.breakdown,
        w.measure,
        n.leaving_year as benchmark_leaving_year,
        n.source as benchmark_source,
        n.publication as benchmark_publication,
        n.institution_group as benchmark_institution_group,
        n.methodology as benchmark_methodology,
        n.value as national_value,
        n.caveat as benchmark_caveat
    from wanted as w
    join national as n
        on n.key_stage = w.key_stage
        and n.breakdown_topic = w.breakdown_topic
        and n.breakdown = w.breakdown
        and n.measure = w.measure
        and n.leaving_year <= w.leaving_year
    qualify row_number() over (
        partition by w.leaving_year, w.key_stage, w.breakdown_topic, w.breakdown, w.measure
        order by n.leaving_year desc, n.source_rank, n.group_rank, n.publication
    ) = 1
),

matched as (
    select
        t.*,
        p.* exclude (leaving_year, key_stage, breakdown_topic, breakdown, measure)
    from trust_long as t
    join picked as p
        using (leaving_year, key_stage, breakdown_topic, breakdown, measure)
)

select
    m.level,
    m.academy_urn,
    m.academy_name,
    m.leaving_year,
    m.key_stage,
    m.round,
    m.breakdown_topic,
    m.breakdown,
    m.topic_order,
    m.breakdown_order,
    m.measure,
    m.cohort,
    m.trust_value,
    m.benchmark_leaving_year,
    m.benchmark_leaving_year = m.leaving_year as same_leaving_year,
    m.benchmark_source,
    m.benchmark_publication,
    m.benchmark_institution_group,
    m.benchmark_methodology,
    nc.national_cohort,
    m.national_value,
    m.trust_value - m.national_value as difference_pp,
    case when m.benchmark_leaving_year = m.leaving_year then m.benchmark_caveat
         else 'National figure is for ' || m.benchmark_leaving_year || ' leavers, the latest DfE has published. '
              || m.benchmark_caveat
    end as caveat
from matched as m
left join national_cohort as nc
    on nc.source = m.benchmark_source
    and nc.publication = m.benchmark_publication
    and nc.leaving_year = m.benchmark_leaving_year
    and nc.key_stage = m.key_stage
    and nc.institution_group = m.benchmark_institution_group
    and nc.breakdown_topic = m.breakdown_topic
    and nc.breakdown = m.breakdown
