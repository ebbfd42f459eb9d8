-- Where leavers went by provider (college, university, employer, training provider: the
-- return's `provider` column), in actual rounds, per level x academy x leaving year x key
-- stage x round x destination group. Rows without a provider are left out; `frame_pupils` =
-- the pupils with a provider in the frame and destination group.
-- Rebuilt per leaving year (macros/by_leaving_year.sql).
{{ config(**by_leaving_year()) }}
with

-- read by both levels: not materialized, only the columns counted (destination_routes)
pupils as not materialized (
    select
        academy_urn, academy_name, counts_in_trust_totals, leaving_year, key_stage, round, round_kind,
        destination_group, trim(provider) as provider
    from {{ ref('int_destinations__pupil_rounds') }}
    where {{ leaving_years_changed() }}
      and key_stage is not null
      and round_kind = 'actual'
      and nullif(trim(provider), '') is not null
),

all_counts as (
    {{ academy_and_trust_counts('pupils', ['leaving_year', 'key_stage', 'round', 'destination_group', 'provider'],
                                'min(round_kind) as round_kind, count(*) as pupils',
                                per_level=[('academy_name', 'min(academy_name)', 'cast(null as varchar)')]) }}
)

select
    level, academy_urn, academy_name, counts_in_trust_totals, leaving_year, key_stage, round, round_kind,
    destination_group, provider, pupils,
    sum(pupils) over (
        partition by level, academy_urn, leaving_year, key_stage, round, destination_group
    ) as frame_pupils
from all_counts
