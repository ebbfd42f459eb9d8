/*
What is this test?
  A shown row of destination_measures_published with exactly one hidden count: counts add up
  (cohort = positive + neet + ...), so a lone hidden count is recoverable from the others.
When is this important to resolve?
  Before publishing outside the data team.
How to resolve?
  The disclosure engine (pipelines/lib/disclosure) left a recoverable pattern: run the attack harness (bench/bench_disclosure.py).
*/
{{ config(severity='warn') }}

select *
from {{ ref('destination_measures_published') }}
where not suppressed and len(suppressed_measures) = 1
