-- neet_risk_rates with disclosure control (int_disclosure__cells).
with

{{ td_publish(
    mart='neet_risk_rates',
    keys=['level', 'academy_urn', 'leaving_year', 'key_stage', 'breakdown_topic', 'breakdown'],
    measures=['pupils', 'flagged'],
    denominator='pupils',
    pct_measures=['flagged'],
    extra_null_when_row_suppressed=['mean_risk_score'],
) }}

select * from published
