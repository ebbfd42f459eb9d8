-- destination_reconciliation_flows with disclosure control (int_disclosure__cells): a frame under
-- the minimum cohort is c; flows of 1-2 pupils are c; flows are linked to the frame total, the
-- trust and the reconciliation rates.
{{ config(**by_leaving_year()) }}
with

{{ td_publish(
    mart='destination_reconciliation_flows',
    measures=['frame_pupils', 'pupils'],
    denominator='frame_pupils',
) }}

select * from published
