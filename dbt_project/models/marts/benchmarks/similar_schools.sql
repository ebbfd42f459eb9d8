-- For each academy, its most similar schools in England, from published characteristics:
--   disadvantaged share of KS4 leavers, KS4 cohort size (log scale), whether the school has
--   16-18 leavers (a sixth form), and the same local authority; special and alternative
--   provision academies are matched only with schools of their own size band.
-- The schools' characteristics come from DfE's school-level destination measures
-- (benchmark_measures, performance tables, latest publication, their latest leaving year);
-- the academy's from its own published figures (destination_measures_published, first
-- actual round, latest year) and the register. Distance = sum of weighted differences
-- (dbt vars td:similar:*); the `td:similar:count` nearest are kept.
{%- set n = var('td:similar:count', 10) | int %}
{%- set w_dis = var('td:similar:weight_disadvantaged', 1.0) %}
{%- set w_size = var('td:similar:weight_size', 0.5) %}
{%- set w_sixth = var('td:similar:weight_sixth_form', 0.5) %}
{%- set w_la = var('td:similar:weight_same_la', 0.25) %}
{%- set min_cohort = var('td:similar:min_school_cohort', 6) | int %}
with

schools_long as (
    select geography_code as school_urn, geography_name as school_name, la_code, key_stage,
           leaving_year, breakdown, value
    from {{ ref('stg_benchmarks__measures') }}
    where geography_level = 'school'
      and is_latest
      and measure = 'cohort'
      and breakdown_topic in ('Total', 'Disadvantage')
      and breakdown in ('Total', 'Disadvantaged')
      and value is not null
),

school_ks4 as (
    select school_urn, min(school_name) as school_name, min(la_code) as la_code,
           max(leaving_year) as leaving_year
    from schools_long
    where key_stage = 'KS4' and breakdown = 'Total' and value >= {{ min_cohort }}
    group by school_urn
),

schools as (
    select
        s.school_urn,
        s.school_name,
        s.la_code,
        s.leaving_year,
        t.value as ks4_cohort,
        d.value / t.value as disadvantaged_share,
        exists (select 1 from schools_long as x
                where x.school_urn = s.school_urn and x.key_stage = '16-18' and x.value > 0) as has_sixth_form
    from school_ks4 as s
    inner join schools_long as t
        on t.school_urn = s.school_urn and t.key_stage = 'KS4' and t.leaving_year = s.leaving_year
        and t.breakdown = 'Total'
    left join schools_long as d
        on d.school_urn = s.school_urn and d.key_stage = 'KS4' and d.leaving_year = s.leaving_year
        and d.breakdown = 'Disadvantaged'
    where d.value is not null
),

published as (
    select * from {{ ref('destination_measures_published') }}
    where level = 'academy' and key_stage = 'KS4' and round_kind = 'actual'
),

academy_year as (
    select academy_urn, max(leaving_year) as leaving_year
    from published
    where breakdown = 'Total' and cohort > 0
    group by academy_urn
),

academies as (
    select
        r.academy_urn,
        r.academy_name,
        r.la_code,
        r.phase,
        r.has_sixth_form,
        y.leaving_year,
        t.cohort as ks4_cohort,
        cast(d.cohort as double) / t.cohort as disadvantaged_share
    from {{ ref('stg_returns__academies') }} as r
    inner join academy_year as y using (academy_urn)
    inner join published as t
        on t.academy_urn = r.academy_urn and t.leaving_year = y.leaving_year
        and t.breakdown_topic = 'Total' and t.breakdown = 'Total'
    left join published as d
        on d.academy_urn = r.academy_urn and d.leaving_year = y.leaving_year
        and d.breakdown_topic = 'Disadvantage' and d.breakdown = 'Disadvantaged'
    where t.cohort is not null
),

pairs as (
    select
        a.academy_urn,
        a.academy_name,
        a.phase as academy_phase,
        a.leaving_year as academy_leaving_year,
        a.ks4_cohort as academy_ks4_cohort,
        a.disadvantaged_share as academy_disadvantaged_share,
        a.has_sixth_form as academy_has_sixth_form,
        s.school_urn as similar_urn,
        s.school_name as similar_name,
        s.la_code as similar_la_code,
        s.leaving_year as similar_leaving_year,
        s.ks4_cohort as similar_ks4_cohort,
        s.disadvantaged_share as similar_disadvantaged_share,
        s.has_sixth_form as similar_has_sixth_form,
        -- disadvantaged share: 10 points apart counts 1; cohort: twice the size counts 1
        {{ w_dis }} * coalesce(abs(a.disadvantaged_share - s.disadvantaged_share) / 0.10, 1.0)
        + {{ w_size }} * abs(ln(a.ks4_cohort) - ln(s.ks4_cohort)) / ln(2)
        + {{ w_sixth }} * case when a.has_sixth_form = s.has_sixth_form then 0 else 1 end
        + {{ w_la }} * case when a.la_code = s.la_code then 0 else 1 end as distance
    from academies as a
    cross join schools as s
    where s.school_urn <> a.academy_urn
      -- special / AP academies: only schools of a similar (small) size
      and (a.phase not in ('special', 'alternative provision') or s.ks4_cohort <= greatest(3 * a.ks4_cohort, 30))
),

ranked as (
    select
        *,
        row_number() over (partition by academy_urn order by distance, similar_urn) as similarity_rank
    from pairs
    qualify similarity_rank <= {{ n }}
)

select
    *,
    'Nearest {{ n }} schools by: disadvantaged share of KS4 leavers (weight {{ w_dis }} per 10 points), '
    || 'KS4 cohort size (weight {{ w_size }} per doubling), sixth form (weight {{ w_sixth }}), '
    || 'same local authority (weight {{ w_la }}); DfE school-level destination measures.' as method
from ranked
