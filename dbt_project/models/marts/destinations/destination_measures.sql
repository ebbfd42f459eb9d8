-- Destination counts and shares per level x academy x leaving year x key stage x round x
-- breakdown (contract §7). Every breakdown of the seed is listed for every reported frame.
{%- set counts = destination_count_definitions() %}
-- Rebuilt per leaving year (macros/by_leaving_year.sql).
{{ config(**by_leaving_year()) }}

with

pupils as (
    select * from {{ ref('int_destinations__pupil_breakdowns') }}
    where {{ leaving_years_changed() }}
),

breakdowns as (
    select * from {{ ref('breakdowns') }}
),

rounds as (
    select * from {{ ref('stg_returns__rounds') }}
),

academies as (
    select * from {{ ref('stg_returns__academies') }}
),

-- trust totals: only academies that had joined by the cut-off for that leaving year; pupil rows
-- alike in every key and destination are counted once first (grouped_by)
all_counts as (
    {{ academy_and_trust_counts('pupils', ['leaving_year', 'key_stage', 'round', 'breakdown_topic', 'breakdown'],
                                pupil_sums([('cohort', 'true')] + counts),
                                grouped_by=['destination_group', 'destination_sub_group']) }}
),

frames as (
    select distinct level, academy_urn, leaving_year, key_stage, round, counts_in_trust_totals
    from all_counts
),

grid as (
    select
        frames.*,
        breakdowns.breakdown_topic,
        breakdowns.breakdown,
        breakdowns.topic_order,
        breakdowns.breakdown_order
    from frames
    cross join breakdowns
),

final as (
    select
        ---------- keys
        grid.level,
        grid.academy_urn,
        academies.academy_name,
        grid.counts_in_trust_totals,
        grid.leaving_year,
        grid.key_stage,
        grid.round,
        rounds.round_kind,
        rounds.round_order,
        grid.breakdown_topic,
        grid.breakdown,
        grid.topic_order,
        grid.breakdown_order,

        ---------- counts
        cast(coalesce(all_counts.cohort, 0) as bigint) as cohort,
        {%- for name, _ in counts %}
        cast(coalesce(all_counts.{{ name }}, 0) as bigint) as {{ name }},
        {%- endfor %}

        ---------- shares of cohort (unrounded, 0-100; 0 for an empty cohort, as DfE publishes)
        {%- for name, _ in counts %}
        {{ pct('coalesce(all_counts.' ~ name ~ ', 0)', 'coalesce(all_counts.cohort, 0)', empty='0.0') }}
            as {{ name }}_pct{{ "," if not loop.last }}
        {%- endfor %}

    from grid
    left join all_counts
        on {{ td_same_row('grid', 'all_counts', td_mart_keys('destination_measures')) }}
    left join rounds on grid.round = rounds.round
    left join academies on grid.academy_urn = academies.academy_urn
)

select * from final
