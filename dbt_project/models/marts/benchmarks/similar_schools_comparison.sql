-- Each academy's published destination measures beside the same measures of its similar
-- schools (similar_schools), per key stage x measure: the academy's figure from
-- destination_measures_published (its latest actual year; null where suppressed) and the
-- similar schools' median, lowest and highest as DfE published them (their latest year).
{%- set measures = ['positive', 'education', 'further_education', 'school_sixth_form', 'sixth_form_college',
                    'higher_education', 'apprenticeship', 'employment'] %}
with

similar_pairs as (
    select * from {{ ref('similar_schools') }}
),

school_values as (
    select b.geography_code as similar_urn, b.key_stage, replace(b.measure, '_pct', '') as measure,
           b.leaving_year, b.value
    from {{ ref('stg_benchmarks__measures') }} as b
    where b.geography_level = 'school' and b.is_latest
      and b.breakdown_topic = 'Total' and b.breakdown = 'Total'
      and b.measure in ({% for m in measures %}'{{ m }}_pct'{{ "," if not loop.last }}{% endfor %})
      and b.value is not null
    qualify row_number() over (partition by b.geography_code, b.key_stage, b.measure
                               order by b.leaving_year desc) = 1
),

peer as (
    select
        s.academy_urn,
        v.key_stage,
        v.measure,
        count(*) as similar_schools,
        max(v.leaving_year) as similar_leaving_year,
        median(v.value) as similar_median_pct,
        min(v.value) as similar_min_pct,
        max(v.value) as similar_max_pct
    from similar_pairs as s
    inner join school_values as v using (similar_urn)
    group by s.academy_urn, v.key_stage, v.measure
),

published as (
    select * from {{ ref('destination_measures_published') }}
    where level = 'academy' and round_kind = 'actual' and breakdown_topic = 'Total' and breakdown = 'Total'
),

academy_latest as (
    select p.*
    from published as p
    where p.suppression_status <> 'z'
    qualify row_number() over (partition by p.academy_urn, p.key_stage
                               order by p.leaving_year desc, p.round_order) = 1
),

academy_long as (
    {%- for m in measures %}
    select academy_urn, academy_name, key_stage, leaving_year, round, cohort,
           '{{ m }}' as measure, {{ loop.index }} as measure_order, cast({{ m }}_pct as double) as academy_pct
    from academy_latest
    {{ "union all" if not loop.last }}
    {%- endfor %}
)

select
    a.academy_urn,
    a.academy_name,
    a.key_stage,
    a.measure,
    a.measure_order,
    a.leaving_year as academy_leaving_year,
    a.round,
    a.cohort as academy_cohort,
    a.academy_pct,
    a.academy_pct is null as academy_pct_suppressed,
    p.similar_schools,
    p.similar_leaving_year,
    p.similar_median_pct,
    p.similar_min_pct,
    p.similar_max_pct,
    a.academy_pct - p.similar_median_pct as difference_pp
from academy_long as a
inner join peer as p
    on p.academy_urn = a.academy_urn and p.key_stage = a.key_stage and p.measure = a.measure
