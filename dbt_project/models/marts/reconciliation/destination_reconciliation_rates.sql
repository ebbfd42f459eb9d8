-- Intended vs actual outcome rates per level x academy x leaving year x key stage x intended
-- round x breakdown. Denominator: pupils in the intended or the actual return.
{%- set outcomes = reconciliation_outcomes() %}

-- Rebuilt per leaving year (macros/by_leaving_year.sql).
{{ config(**by_leaving_year()) }}
with

pupils as (
    select * from {{ ref('destination_reconciliation') }}
    where {{ leaving_years_changed() }}
),

-- pupils alike in every key, label and outcome counted once first: the breakdown expansion
-- then multiplies groups, not pupils (each pupil's row carried six times spilled gigabytes)
grouped as (
    select
        academy_urn, counts_in_trust_totals, leaving_year, key_stage, intended_round,
        disadvantage_label, sen_provision_label, sex_label, ethnicity_major, outcome,
        count(*) as pupils
    from pupils
    group by all
),

by_breakdown as (
    select grouped.*, topic.breakdown_topic, topic.breakdown
    from grouped
    {{ breakdown_lateral('grouped') }}
),

academy_counts as (
    select
        'academy' as level,
        academy_urn,
        bool_and(counts_in_trust_totals) as counts_in_trust_totals,
        leaving_year, key_stage, intended_round, breakdown_topic, breakdown,
        sum(pupils) as pupils,
        {%- for label, name in outcomes %}
        coalesce(sum(pupils) filter (where outcome = '{{ label }}'), 0) as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
    from by_breakdown
    group by academy_urn, leaving_year, key_stage, intended_round, breakdown_topic, breakdown
),

trust_counts as (
    select
        'trust' as level,
        cast(null as varchar) as academy_urn,
        cast(null as boolean) as counts_in_trust_totals,
        leaving_year, key_stage, intended_round, breakdown_topic, breakdown,
        sum(pupils) as pupils,
        {%- for label, name in outcomes %}
        coalesce(sum(pupils) filter (where outcome = '{{ label }}'), 0) as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
    from by_breakdown
    where counts_in_trust_totals
    group by leaving_year, key_stage, intended_round, breakdown_topic, breakdown
),

all_counts as (
    select * from academy_counts
    union all
    select * from trust_counts
),

final as (
    select
        all_counts.level,
        all_counts.academy_urn,
        academies.academy_name,
        all_counts.counts_in_trust_totals,
        all_counts.leaving_year,
        all_counts.key_stage,
        all_counts.intended_round,
        all_counts.breakdown_topic,
        all_counts.breakdown,
        cast(all_counts.pupils as bigint) as pupils,
        {%- for label, name in outcomes %}
        cast(all_counts.{{ name }} as bigint) as {{ name }},
        {%- endfor %}
        {%- for label, name in outcomes %}
        {{ pct('all_counts.' ~ name, 'all_counts.pupils') }} as {{ name }}_pct{{ "," if not loop.last }}
        {%- endfor %}
    from all_counts
    left join {{ ref('stg_returns__academies') }} as academies
        on all_counts.academy_urn = academies.academy_urn
)

select * from final
