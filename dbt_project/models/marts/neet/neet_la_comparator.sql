-- The trust's local-authority NEET comparator: the NCCIS 16-17 figures of the LAs its
-- academies are in, weighted by each academy's leavers in the NEET denominator (custody
-- excluded). One row per leaving year x key stage x actual round; trust-row comparator of
-- the NEET pages and the pack (an academy's own LA figure stays on its neet_not_known row).

with

academies as (
    select * from {{ ref('neet_not_known') }}
    where level = 'academy'
      and counts_in_trust_totals
      and breakdown_topic = 'Total'
      and la_neet_pct is not null
      and neet_denominator > 0
),

weighted as (
    select
        leaving_year,
        key_stage,
        round,
        count(distinct la_code) as la_count,
        string_agg(distinct la_name, ', ' order by la_name) as la_names,
        sum(neet_denominator * la_neet_pct) / sum(neet_denominator) as la_neet_pct,
        sum(neet_denominator * la_not_known_pct) / sum(neet_denominator) as la_not_known_pct,
        sum(neet_denominator * la_neet_not_known_pct) / sum(neet_denominator) as la_neet_not_known_pct,
        max(la_comparator_leaving_year) as la_comparator_leaving_year
    from academies
    group by leaving_year, key_stage, round
)

select
    *,
    case
        when la_count = 1 then la_names
        else 'LA average (' || la_count || ' LAs, pupil-weighted)'
    end as comparator_label
from weighted
