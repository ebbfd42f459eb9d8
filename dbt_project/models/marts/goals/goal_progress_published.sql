-- goal_progress with disclosure control (int_disclosure__cells): a denominator under the minimum
-- cohort, or a numerator (or denominator minus numerator) of 1-2, is c; academy rows are
-- protected against subtraction from the trust row.
{{ config(**by_leaving_year()) }}
with

{{ td_publish(
    mart='goal_progress',
    measures=['denominator', 'numerator'],
    denominator='denominator',
    null_with={'numerator': ['share_pct', 'is_on_track', 'vs_comparator_pp']},
) }}

select * from published
