-- Each academy's own published DfE destination measures (performance tables, by URN, also
-- under its predecessor URNs before conversion) beside the trust's first actual round (R3)
-- for the same cohort: one row per academy x leaving year x key stage x breakdown x measure.
with

academies as (
    select academy_urn, academy_name from {{ ref('stg_returns__academies') }}
),

lineage as (
    -- every academy maps to itself even when no GIAS links file was supplied
    select academy_urn as urn, academy_urn as ancestor_urn, 0 as depth, cast(null as varchar) as link_type
    from academies
    union all
    select urn, ancestor_urn, depth, link_type
    from {{ ref('int_benchmarks__urn_lineage') }}
    where depth > 0
),

published as (
    select *
    from {{ ref('stg_benchmarks__measures') }}
    where geography_level = 'school'
      and source in ('performance_tables_ks4', 'performance_tables_1618')
      and breakdown_topic in ('Total', 'Disadvantage')
),

dfe as (
    select
        a.academy_urn,
        a.academy_name,
        p.geography_code as published_urn,
        p.geography_name as published_name,
        l.depth > 0 as via_predecessor,
        l.link_type,
        p.leaving_year,
        p.key_stage,
        p.breakdown_topic,
        p.breakdown,
        p.measure,
        p.value as dfe_value,
        p.suppressed as dfe_suppressed,
        p.value_flag as dfe_value_flag,
        p.publication as dfe_publication,
        p.caveat
    from academies as a
    join lineage as l on l.urn = a.academy_urn
    join published as p on p.geography_code = l.ancestor_urn
    -- newest publication, then the academy's own URN before a predecessor's
    qualify row_number() over (
        partition by a.academy_urn, p.leaving_year, p.key_stage, p.breakdown_topic, p.breakdown, p.measure
        order by p.is_latest desc, p.publication_order desc, l.depth, p.geography_code
    ) = 1
),

trust as (
    select dm.*
    from {{ ref('int_benchmarks__trust_first_actual_round') }} as dm
    where dm.level = 'academy'
),

trust_long as (
    unpivot (
        select academy_urn, leaving_year, key_stage, round, breakdown_topic, breakdown,
               cast(cohort as double) as cohort,
               positive_pct, education_pct, further_education_pct, school_sixth_form_pct,
               sixth_form_college_pct, higher_education_pct, other_education_pct,
               apprenticeship_pct, employment_pct
        from trust
    )
    on cohort, positive_pct, education_pct, further_education_pct, school_sixth_form_pct,
       sixth_form_college_pct, higher_education_pct, other_education_pct, apprenticeship_pct,
       employment_pct
    into name measure value trust_value
)

select
    dfe.academy_urn,
    dfe.academy_name,
    dfe.published_urn,
    dfe.published_name,
    dfe.via_predecessor,
    dfe.link_type,
    dfe.leaving_year,
    dfe.key_stage,
    dfe.breakdown_topic,
    dfe.breakdown,
    dfe.measure,
    dfe.dfe_value,
    dfe.dfe_suppressed,
    dfe.dfe_value_flag,
    dfe.dfe_publication,
    t.round as trust_round,
    t.trust_value,
    case when dfe.measure like '%\_pct' escape '\' then t.trust_value - dfe.dfe_value end as difference_pp,
    dfe.caveat
from dfe
left join trust_long as t
    on t.academy_urn = dfe.academy_urn
    and t.leaving_year = dfe.leaving_year
    and t.key_stage = dfe.key_stage
    and t.breakdown_topic = dfe.breakdown_topic
    and t.breakdown = dfe.breakdown
    and t.measure = dfe.measure
