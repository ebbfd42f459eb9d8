/*
What is this test?
  In destination_measures_published, the breakdowns of a topic add up to the Total row. If the
  Total is shown and exactly one breakdown's cohort is hidden (c), it can be recovered by
  subtraction. The disclosure engine (int_disclosure__cells) should never leave that.
When is this important to resolve?
  Before anything is shown outside the data team: it is a disclosure risk.
How to resolve?
  Report the pattern: the engine (pipelines/lib/disclosure) has a gap.
*/
{{ config(severity='warn') }}

with

published as (
    select * from {{ ref('destination_measures_published') }}
),

hidden as (
    select level, academy_urn, leaving_year, key_stage, round, breakdown_topic,
        count(*) filter (where suppressed) as hidden_rows
    from published
    where breakdown_topic <> 'Total'
    group by level, academy_urn, leaving_year, key_stage, round, breakdown_topic
)

select hidden.*
from hidden
inner join published as total
    on total.breakdown_topic = 'Total'
    and total.level = hidden.level
    and total.academy_urn is not distinct from hidden.academy_urn
    and total.leaving_year = hidden.leaving_year
    and total.key_stage = hidden.key_stage
    and total.round = hidden.round
where hidden.hidden_rows = 1 and not total.suppressed
