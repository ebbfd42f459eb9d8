-- neet_risk_rates with disclosure control (int_disclosure__cells).
{{ config(**by_leaving_year()) }}
with

{{ td_publish(
    mart='neet_risk_rates',
    measures=['pupils', 'flagged'],
    denominator='pupils',
    pct_measures=['flagged'],
    extra_null_when_row_suppressed=['mean_risk_score'],
) }}

select * from published
