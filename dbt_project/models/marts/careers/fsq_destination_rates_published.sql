-- fsq_destination_rates with disclosure control (int_disclosure__cells): counts linked within the
-- row, across breakdowns, readiness bands and academies. Hidden counts and shares are null.
{{ config(**by_leaving_year()) }}
{%- set counts = ['cohort', 'positive', 'neet', 'not_known', 'other', 'with_fsq'] %}

with

{{ td_publish(
        mart='fsq_destination_rates',
        measures=counts,
        denominator='cohort',
        pct_measures=counts[1:],
        extra_null_when_row_suppressed=['mean_readiness_pct'],
) }}

select * from published
