-- Where leavers went by provider (college, university, employer, training provider: the
-- return's `provider` column), in actual rounds, per level x academy x leaving year x key
-- stage x round x destination group. Rows without a provider are left out; `frame_pupils` =
-- the pupils with a provider in the frame and destination group.

with

pupils as (
    select * from {{ ref('int_destinations__pupil_rounds') }}
    where key_stage is not null
      and round_kind = 'actual'
      and nullif(trim(provider), '') is not null
),

academy_counts as (
    select
        'academy' as level,
        academy_urn,
        min(academy_name) as academy_name,
        bool_and(counts_in_trust_totals) as counts_in_trust_totals,
        leaving_year,
        key_stage,
        round,
        min(round_kind) as round_kind,
        destination_group,
        trim(provider) as provider,
        count(*) as pupils
    from pupils
    group by academy_urn, leaving_year, key_stage, round, destination_group, trim(provider)
),

trust_counts as (
    select
        'trust' as level,
        cast(null as varchar) as academy_urn,
        cast(null as varchar) as academy_name,
        cast(null as boolean) as counts_in_trust_totals,
        leaving_year,
        key_stage,
        round,
        min(round_kind) as round_kind,
        destination_group,
        trim(provider) as provider,
        count(*) as pupils
    from pupils
    where counts_in_trust_totals
    group by leaving_year, key_stage, round, destination_group, trim(provider)
),

all_counts as (
    select * from academy_counts
    union all
    select * from trust_counts
)

select
    *,
    sum(pupils) over (
        partition by level, academy_urn, leaving_year, key_stage, round, destination_group
    ) as frame_pupils
from all_counts
