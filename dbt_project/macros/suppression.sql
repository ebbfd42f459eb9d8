{#-
  Disclosure control for published marts (research/domain.md §5, trust rule):

  primary   a row whose denominator is 1 .. min_cohort-1 is suppressed whole (`c`);
            a cell whose count is 1 .. min_count-1, or whose denominator minus count is
            1 .. min_count-1, is suppressed. Zeros and rows with no pupils (`z`) are shown.
  secondary so no suppressed cell can be worked out by subtraction:
            - within a row, for each additive set (parent = sum of children), a set with
              exactly one suppressed member loses its smallest other member (non-zero first;
              never the denominator);
            - across rows, for each sibling set (e.g. the breakdowns of one topic, whose sum
              is the Total row; or the academies that make up a trust row), a set with exactly
              one suppressed cell of a measure loses the same measure of its smallest sibling
              (non-zero first). A row whose denominator is suppressed is suppressed whole.
            Repeated `td:suppression:secondary_passes` times (suppression can cascade).

  Thresholds: vars td:suppression:min_cohort (6) and td:suppression:min_count (3).
-#}

{#- Suppression flags, one row per source row x measure (long form). Builds a chain of CTEs
    named sup_* (the last is sup_final), to place in a model's WITH list after `source`.
      source        relation or CTE name holding the rows (one row per published row)
      row_id        a column unique per row of `source`
      measures      count columns to protect (the denominator first)
      denominator   the count column the shares use (cohort)
      hierarchy     list of [parent, [children...]] additive sets within a row
      sibling_sets  list of {'partition': [sql expressions], 'where': sql condition}
-#}
{% macro td_suppression_flags(source, row_id, measures, denominator, hierarchy=[], sibling_sets=[]) -%}
{%- set min_cohort = var('td:suppression:min_cohort', 6) | int -%}
{%- set min_count = var('td:suppression:min_count', 3) | int -%}
{%- set passes = var('td:suppression:secondary_passes', 3) | int -%}
sup_rows as materialized (
    select * from {{ source }}
),

sup_long as materialized (
    select
        sup_rows.{{ row_id }} as _row_id,
        m.measure,
        m.measure_order,
        cast(m.value as bigint) as value,
        cast(sup_rows.{{ denominator }} as bigint) as _denominator
    from sup_rows
    cross join lateral (
        values
        {%- for m in measures %}
            ('{{ m }}', {{ loop.index }}, sup_rows.{{ m }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as m(measure, measure_order, value)
),

{%- if hierarchy %}
sup_sets as materialized (
    select * from (
        values
        {%- for parent, children in hierarchy %}
            {%- set set_loop = loop %}
            ('{{ parent }}', {{ set_loop.index }}){% for c in children %}, ('{{ c }}', {{ set_loop.index }}){% endfor %}{{ "," if not set_loop.last }}
        {%- endfor %}
    ) as s(measure, set_id)
),
{%- endif %}

sup_pass_0 as materialized (
    select
        *,
        case
            when _denominator between 1 and {{ min_cohort - 1 }} then true
            when measure = '{{ denominator }}' then false
            when value between 1 and {{ min_count - 1 }} then true
            when _denominator - value between 1 and {{ min_count - 1 }} then true
            else false
        end as is_suppressed,
        case when _denominator between 1 and {{ min_cohort - 1 }} then 'primary row'
            when measure <> '{{ denominator }}'
                and (value between 1 and {{ min_count - 1 }}
                    or _denominator - value between 1 and {{ min_count - 1 }}) then 'primary cell'
        end as suppression_reason
    from sup_long
),

{%- set ns = namespace(prev='sup_pass_0') %}
{%- for i in range(1, passes + 1) %}

{%- if hierarchy %}
-- pass {{ i }}: additive sets within a row
sup_pass_{{ i }}_hier_pick as materialized (
    select
        c._row_id,
        arg_min(c.measure, [case when c.value = 0 then 1 else 0 end, c.value, c.measure_order])
            filter (where not c.is_suppressed and c.measure <> '{{ denominator }}') as measure
    from {{ ns.prev }} as c
    inner join sup_sets as s on c.measure = s.measure
    group by c._row_id, s.set_id
    having count_if(c.is_suppressed) = 1
        and count_if(not c.is_suppressed and c.measure <> '{{ denominator }}') > 0
),

sup_pass_{{ i }}_hier as materialized (
    select
        c.* replace (
            c.is_suppressed or p._row_id is not null as is_suppressed,
            case when not c.is_suppressed and p._row_id is not null then 'secondary (within row)'
                else c.suppression_reason end as suppression_reason
        )
    from {{ ns.prev }} as c
    left join (select distinct _row_id, measure from sup_pass_{{ i }}_hier_pick) as p
        on c._row_id = p._row_id and c.measure = p.measure
),
{%- set ns.prev = 'sup_pass_' ~ i ~ '_hier' %}
{%- endif %}

{%- for sib in sibling_sets %}
{%- set part = sib['partition'] | join(', ') %}
-- pass {{ i }}: sibling rows {{ loop.index }} (partition by {{ part }})
sup_pass_{{ i }}_sib_{{ loop.index }}_pick as materialized (
    select
        arg_min(c._row_id, [case when c.value = 0 then 1 else 0 end, c.value, c._row_id])
            filter (where not c.is_suppressed and c._denominator <> 0) as _row_id,
        c.measure
    from {{ ns.prev }} as c
    inner join sup_rows on c._row_id = sup_rows.{{ row_id }}
    where {{ sib.get('where', 'true') }}
        {%- for p in sib['partition'] %} and ({{ p }}) is not null{% endfor %}
    group by {{ part }}, c.measure
    having count_if(c.is_suppressed) = 1
        and count_if(not c.is_suppressed and c._denominator <> 0) > 0
),

-- a row whose denominator is picked is suppressed whole
sup_pass_{{ i }}_sib_{{ loop.index }}_rows as materialized (
    select distinct _row_id
    from sup_pass_{{ i }}_sib_{{ loop.index }}_pick
    where measure = '{{ denominator }}'
),

sup_pass_{{ i }}_sib_{{ loop.index }} as materialized (
    select
        c.* replace (
            c.is_suppressed or p._row_id is not null or r._row_id is not null as is_suppressed,
            case when not c.is_suppressed and (p._row_id is not null or r._row_id is not null)
                then 'secondary (sibling)' else c.suppression_reason end as suppression_reason
        )
    from {{ ns.prev }} as c
    left join (select distinct _row_id, measure from sup_pass_{{ i }}_sib_{{ loop.index }}_pick) as p
        on c._row_id = p._row_id and c.measure = p.measure
    left join sup_pass_{{ i }}_sib_{{ loop.index }}_rows as r on c._row_id = r._row_id
),
{%- set ns.prev = 'sup_pass_' ~ i ~ '_sib_' ~ loop.index %}
{%- endfor %}
{%- endfor %}

sup_final as materialized (
    select * from {{ ns.prev }}
)
{%- endmacro %}


{#- The published twin of an aggregate mart, as CTEs ending in `published` (place them in the
    model's WITH list after `source`): suppressed counts and shares are null; adds
      suppressed           the whole row is suppressed (its denominator is `c`)
      suppression_status   c (whole row) | partial (some cells c) | z (no pupils) | shown
      suppressed_measures  the count columns shown as c (their _pct columns too)
    pct_measures: the measures that have a `<measure>_pct` column. -#}
{% macro td_publish_suppressed(source, row_id, measures, denominator, pct_measures=[],
                               hierarchy=[], sibling_sets=[], extra_null_when_row_suppressed=[]) -%}
{{ td_suppression_flags(source, row_id, measures, denominator, hierarchy, sibling_sets) }},

pub_flags as materialized (
    select * from sup_final
),

pub_rows as materialized (
    select
        _row_id,
        bool_or(is_suppressed and measure = '{{ denominator }}') as suppressed,
        list(measure order by measure_order) filter (where is_suppressed) as suppressed_measures,
        {%- for m in measures %}
        bool_or(is_suppressed and measure = '{{ m }}') as _c_{{ m }}{{ "," if not loop.last }}
        {%- endfor %}
    from pub_flags
    group by _row_id
),

pub_published as materialized (
    select
        src.* replace (
            {%- for m in measures %}
            case when pub_rows._c_{{ m }} then null else src.{{ m }} end as {{ m }},
            {%- endfor %}
            {%- for m in pct_measures %}
            case when pub_rows._c_{{ m }} then null else src.{{ m }}_pct end as {{ m }}_pct,
            {%- endfor %}
            {%- for col in extra_null_when_row_suppressed %}
            case when pub_rows.suppressed then null else src.{{ col }} end as {{ col }}{{ "," if not loop.last }}
            {%- endfor %}
            {%- if not extra_null_when_row_suppressed %}
            src.{{ row_id }} as {{ row_id }}
            {%- endif %}
        ),
        pub_rows.suppressed,
        case
            when pub_rows.suppressed then 'c'
            when src.{{ denominator }} = 0 then 'z'
            when len(coalesce(pub_rows.suppressed_measures, [])) > 0 then 'partial'
            else 'shown'
        end as suppression_status,
        coalesce(pub_rows.suppressed_measures, []) as suppressed_measures
    from {{ source }} as src
    inner join pub_rows on src.{{ row_id }} = pub_rows._row_id
),

published as (
    select * exclude ({{ row_id }}) from pub_published
)
{%- endmacro %}
