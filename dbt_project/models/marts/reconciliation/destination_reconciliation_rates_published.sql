-- destination_reconciliation_rates with disclosure control (int_disclosure__cells).
{{ config(**by_leaving_year()) }}
{%- set outcomes = reconciliation_outcomes() | map(attribute=1) | list %}

with

{{ td_publish(
    mart='destination_reconciliation_rates',
    measures=['pupils'] + outcomes,
    denominator='pupils',
    pct_measures=outcomes,
) }}

select * from published
