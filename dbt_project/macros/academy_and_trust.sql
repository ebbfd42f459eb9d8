{#-
  Counts per academy, and for the trust (only the academies that count in trust totals for
  that leaving year), as one relation with `level` 'academy' | 'trust'. The one place the
  academy/trust split of a count mart is written (destination_measures, neet_not_known,
  destination_routes, destination_providers).

      {{ academy_and_trust_counts('pupils', ['leaving_year', 'key_stage', 'round'],
                                  'count(*) as pupils',
                                  per_level=[('academy_name', 'min(academy_name)', 'cast(null as varchar)')]) }}

  keys: grouping columns besides academy_urn; measures: the aggregate select list;
  per_level: (column, academy expression, trust expression) for columns that differ by level.
  grouped_by: the other columns `measures` and `per_level` read. Given, the rows alike in every
  key and in those columns are counted once first (`pupils`: how many rows each group stands
  for) and the academy and trust counts add up the groups: a relation of pupil x breakdown rows
  is scanned once, not once per level (out of memory at national size otherwise). Measures then
  count with `pupil_sums` (or sum(pupils)).
  Columns: level, academy_urn, counts_in_trust_totals, per_level..., keys..., measures...
-#}
{% macro academy_and_trust_counts(relation, keys, measures, per_level=[], grouped_by=none) %}
    {%- if grouped_by is not none %}
    with grouped as materialized (   -- once, for both levels
        select academy_urn, counts_in_trust_totals, {{ (keys + grouped_by) | join(', ') }}, count(*) as pupils
        from {{ relation }}
        group by all
    )
    {%- set relation = 'grouped' %}
    {%- endif %}
    {%- for level in ('academy', 'trust') %}
    select
        '{{ level }}' as level,
        {%- if level == 'academy' %}
        academy_urn,
        bool_and(counts_in_trust_totals) as counts_in_trust_totals,
        {%- else %}
        cast(null as varchar) as academy_urn,
        cast(null as boolean) as counts_in_trust_totals,
        {%- endif %}
        {%- for name, at_academy, at_trust in per_level %}
        {{ at_academy if level == 'academy' else at_trust }} as {{ name }},
        {%- endfor %}
        {{ keys | join(', ') }},
        {{ measures }}
    from {{ relation }}
    {%- if level == 'academy' %}
    group by academy_urn, {{ keys | join(', ') }}
    union all
    {%- else %}
    where counts_in_trust_totals
    group by {{ keys | join(', ') }}
    {%- endif %}
    {%- endfor %}
{% endmacro %}

{#- `cast(sum(case when <condition> then pupils else 0 end) as bigint) as <name>` for each (name,
    condition): the count_if(<condition>) of the pupil rows, over rows grouped by
    academy_and_trust_counts(grouped_by=...) (never null, like count_if). -#}
{% macro pupil_sums(definitions) %}
    {%- for name, condition in definitions %}
        cast(sum(case when {{ condition }} then pupils else 0 end) as bigint) as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
{% endmacro %}
