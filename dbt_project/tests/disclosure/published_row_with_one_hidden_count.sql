/*
What is this test?
  A shown row of destination_measures_published with exactly one hidden count: counts add up
  (cohort = positive + neet + ...), so a lone hidden count is recoverable from the others.
When is this important to resolve?
  Before publishing outside the data team.
How to resolve?
  Check the hierarchy sets passed to td_publish_suppressed in destination_measures_published.
*/
{{ config(severity='warn') }}

select *
from {{ ref('destination_measures_published') }}
where not suppressed and len(suppressed_measures) = 1
