-- destination_gaps from the suppressed destination_measures_published: a gap whose either side
-- is suppressed (c) is null, so nothing hidden there can be recovered from a gap.
with

gaps as (
    {{ destination_gaps_sql(ref('destination_measures_published')) }}
)

select
    gaps.*,
    case
        when group_cohort is null or comparison_cohort is null then 'c'
        when group_cohort = 0 or comparison_cohort = 0 then 'z'
        when gap_pp is null then 'c'
        else 'shown'
    end as suppression_status
from gaps
