-- neet_not_known with disclosure control (int_disclosure__cells, shared cells in the same state as
-- destination_measures_published); comparators stay shown.
{{ config(**by_leaving_year()) }}
with

{{ td_publish(
    mart='neet_not_known',
    measures=['neet_denominator', 'cohort', 'excluded', 'neet', 'neet_active', 'neet_inactive',
              'not_known', 'neet_not_known'],
    denominator='neet_denominator',
    pct_measures=['neet', 'not_known', 'neet_not_known'],
) }}

select * from published
