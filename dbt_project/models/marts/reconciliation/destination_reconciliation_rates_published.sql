-- destination_reconciliation_rates with disclosure control (macros/suppression.sql).
{%- set outcomes = reconciliation_outcomes() | map(attribute=1) | list %}
{%- set frame = ["level", "coalesce(academy_urn, 'trust')", "leaving_year", "key_stage", "intended_round"] %}

with

rates as (
    select row_number() over (order by level, academy_urn, leaving_year, key_stage, intended_round, breakdown_topic, breakdown) as _pub_row_id, *
    from {{ ref('destination_reconciliation_rates') }}
),

{{ td_publish_suppressed(
    source='rates',
    row_id='_pub_row_id',
    measures=['pupils'] + outcomes,
    denominator='pupils',
    pct_measures=outcomes,
    hierarchy=[['pupils', outcomes]],
    sibling_sets=breakdown_sibling_sets(frame, ['leaving_year', 'key_stage', 'intended_round']),
) }}

select * from published
