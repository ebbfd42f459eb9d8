-- Each URN with itself and every predecessor URN (GIAS links, followed back through
-- successive conversions and re-brokerings), so DfE figures published under a school's
-- pre-academy URN reach the academy. depth 0 = the URN itself.
with recursive

predecessors as (
    select urn, link_urn as predecessor_urn, link_type
    from {{ ref('stg_benchmarks__gias_links') }}
    where link_type ilike 'predecessor%'
    union
    -- the other side of a successor link says the same thing
    select link_urn as urn, urn as predecessor_urn, link_type
    from {{ ref('stg_benchmarks__gias_links') }}
    where link_type ilike 'successor%'
),

lineage (urn, ancestor_urn, depth, link_type) as (
    select distinct urn, urn, 0, cast(null as varchar)
    from (select urn from predecessors union select predecessor_urn from predecessors)
    union all
    select lineage.urn, predecessors.predecessor_urn, lineage.depth + 1,
           coalesce(lineage.link_type, predecessors.link_type)
    from lineage
    join predecessors on predecessors.urn = lineage.ancestor_urn
    where lineage.depth < 6
)

select urn, ancestor_urn, min(depth) as depth, min(link_type) as link_type
from lineage
where urn <> ancestor_urn or depth = 0
group by urn, ancestor_urn
