{{ config(materialized='view') }}
-- The trust's destination_measures rows for the first actual round (R3 by default): the
-- figures that compare with DfE's published destinations.
with

actual_round as (
    select round from {{ ref('destination_measures') }}
    where round_kind = 'actual'
    group by round
    qualify row_number() over (order by min(round_order)) = 1
)

select dm.*
from {{ ref('destination_measures') }} as dm
join actual_round using (round)
