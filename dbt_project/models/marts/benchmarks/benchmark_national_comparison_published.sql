-- benchmark_national_comparison with the trust's disclosure control: the trust or academy
-- figure (and so the difference) is taken from destination_measures_published, null where
-- that mart suppresses it. National figures are public and stay. What the dashboard shows.
{%- set measures = ['positive_pct', 'education_pct', 'further_education_pct', 'school_sixth_form_pct',
                    'sixth_form_college_pct', 'higher_education_pct', 'other_education_pct',
                    'apprenticeship_pct', 'employment_pct'] %}
with

published as (
    {%- for m in measures %}
    select level, academy_urn, leaving_year, key_stage, round, breakdown_topic, breakdown,
           cohort as published_cohort, suppressed as row_suppressed,
           '{{ m }}' as measure, cast({{ m }} as double) as published_value
    from {{ ref('destination_measures_published') }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
)

select
    c.* replace (
        p.published_cohort as cohort,
        p.published_value as trust_value,
        p.published_value - c.national_value as difference_pp
    ),
    p.published_value is null as trust_value_suppressed
from {{ ref('benchmark_national_comparison') }} as c
left join published as p
    on p.level = c.level
    and p.academy_urn is not distinct from c.academy_urn
    and p.leaving_year = c.leaving_year
    and p.key_stage = c.key_stage
    and p.round = c.round
    and p.breakdown_topic = c.breakdown_topic
    and p.breakdown = c.breakdown
    and p.measure = c.measure
