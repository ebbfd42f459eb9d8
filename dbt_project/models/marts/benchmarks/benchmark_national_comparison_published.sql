-- benchmark_national_comparison with the trust's disclosure control: the trust or academy
-- figure (and so the difference) is taken from destination_measures_published, null where
-- that mart suppresses it. National figures are public and stay. What the dashboard shows.
-- One join on the row's keys, the measure's column picked by name (not a join to nine
-- unpivoted copies of the published mart: ~40 % less time).
{%- set measures = ['positive_pct', 'education_pct', 'further_education_pct', 'school_sixth_form_pct',
                    'sixth_form_college_pct', 'higher_education_pct', 'other_education_pct',
                    'apprenticeship_pct', 'employment_pct'] %}
with

picked as (
    select
        c.*,
        case when c.measure in ({% for m in measures %}'{{ m }}'{{ ", " if not loop.last }}{% endfor %})
            then p.cohort end as published_cohort,
        case c.measure{% for m in measures %} when '{{ m }}' then cast(p.{{ m }} as double){% endfor %} end
            as published_value
    from {{ ref('benchmark_national_comparison') }} as c
    left join {{ ref('destination_measures_published') }} as p
        on {{ td_same_row('p', 'c', td_mart_keys('destination_measures')) }}
)

select
    * exclude (published_cohort, published_value) replace (
        published_cohort as cohort,
        published_value as trust_value,
        published_value - national_value as difference_pp
    ),
    published_value is null as trust_value_suppressed
from picked
