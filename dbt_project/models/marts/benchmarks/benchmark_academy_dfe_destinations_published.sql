-- benchmark_academy_dfe_destinations with the trust's figure taken from
-- destination_measures_published (null where suppressed). DfE's published figures stay.
{%- set measures = ['positive_pct', 'education_pct', 'further_education_pct', 'school_sixth_form_pct',
                    'sixth_form_college_pct', 'higher_education_pct', 'other_education_pct',
                    'apprenticeship_pct', 'employment_pct'] %}
with

published as (
    {%- for m in measures + ['cohort'] %}
    select academy_urn, leaving_year, key_stage, round, breakdown_topic, breakdown,
           '{{ m }}' as measure, cast({{ m }} as double) as published_value
    from {{ ref('destination_measures_published') }}
    where level = 'academy'
    {{ "union all" if not loop.last }}
    {%- endfor %}
)

select
    d.* replace (
        p.published_value as trust_value,
        case when d.measure like '%\_pct' escape '\' then p.published_value - d.dfe_value end as difference_pp
    ),
    d.trust_round is not null and p.published_value is null as trust_value_suppressed
from {{ ref('benchmark_academy_dfe_destinations') }} as d
left join published as p
    on p.academy_urn = d.academy_urn
    and p.round = d.trust_round
    and p.leaving_year = d.leaving_year
    and p.key_stage = d.key_stage
    and p.breakdown_topic = d.breakdown_topic
    and p.breakdown = d.breakdown
    and p.measure = d.measure
