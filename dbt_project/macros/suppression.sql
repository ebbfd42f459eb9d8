{#-
  Disclosure control for published marts (research/domain.md §5, §5.1).

  The decision is made once, by the disclosure engine (pipelines/lib/disclosure), in the dbt
  Python model int_disclosure__cells: every count cell of every aggregate mart, hidden or shown,
  chosen jointly across the linked marts (within-row parts, breakdowns to Total, academies to
  the trust, cells shared by two marts, FSQ bands to All) so that no hidden cell can be worked
  out by directors or by any academy user (who also knows its own academy's cells).
  Thresholds: vars td:suppression:min_cohort (6) and td:suppression:min_count (3).

  The macros here only pivot that decision back onto a mart's rows.
-#}

{#- The row key of a mart row: its key columns as text joined by '|' (null as '~'). The same
    expression as pipelines.lib.disclosure.structure.row_key_sql. -#}
{% macro td_row_key(keys, alias=none) -%}
    concat_ws('|'{%- for k in keys %}, coalesce(cast({{ alias ~ '.' if alias }}{{ k }} as varchar), '~'){%- endfor %})
{%- endmacro %}


{#- The engine's partition label of a mart partitioned by leaving year (structure.partition_sql
    and partition_labels give the same text): the label of int_disclosure__cells rows. -#}
{% macro td_partition_label(leaving_year) -%}
    {{ return('leaving_year=' ~ leaving_year) }}
{%- endmacro %}


{#- The published twin of an aggregate mart, as CTEs ending in `published` (place them in a
    WITH list): hidden counts and their shares are null; adds
      suppressed           the whole row is hidden (its denominator is c)
      suppression_status   c (whole row) | partial (some cells c) | z (no pupils) | shown
      suppressed_measures  the count columns shown as c
    mart         the unpublished mart (a model with cells in int_disclosure__cells); its row
                 grain is td_mart_keys(mart)
    measures     its protected counts; denominator the row's base count
    null_with    {count: [columns]}: columns hidden with that count (its shares); a count in
                 pct_measures hides `<count>_pct`
    extra_null_when_row_suppressed: other columns (means, rates) hidden with the whole row
    A row the engine did not see is hidden whole (never shown by accident).
    A published model materialized by_leaving_year (its mart partitioned by leaving year in the
    engine) reads only the leaving years (or FSQ survey slices) being rebuilt: the mart's rows and
    the cells of their engine partitions (td_partition_label; td_rebuilt_part). -#}
{% macro td_publish(mart, measures, denominator, pct_measures=[], null_with={},
                    extra_null_when_row_suppressed=[]) -%}
{%- set part = td_rebuilt_part() %}
{%- set partitions = none if part is none else part.get('labels', []) %}
{%- for y in (part or {}).get('years', []) %}{% do partitions.append(td_partition_label(y)) %}{% endfor %}
pub_source as (
    select {{ td_row_key(td_mart_keys(mart)) }} as _row_key, *
    from {{ ref(mart) }}
    where {{ 'true' if part is none else part['where'] }}
),

pub_cells as (
    select * from {{ ref('int_disclosure__cells') }}
    where mart = '{{ mart }}' and {{ leaving_years_in(partitions, 'partition_label') }}
),

pub_rows as (
    select
        row_key as _row_key,
        bool_or(hidden and measure = '{{ denominator }}') as suppressed,
        -- in measure order; sorting each row's few hidden cells after an unordered list is ~3x faster
        -- than DuckDB's ordered aggregate (list(... order by ...)) over ~1 M cells
        list_transform(list_sort(list({'o': measure_order, 'm': measure}) filter (where hidden)), x -> x.m)
            as suppressed_measures,
        {%- for m in measures %}
        bool_or(hidden and measure = '{{ m }}') as _c_{{ m }}{{ "," if not loop.last }}
        {%- endfor %}
    from pub_cells
    group by row_key
),

{%- set hide_with = {} %}
{%- for m in pct_measures %}{% do hide_with.setdefault(m ~ '_pct', []).append(m) %}{% endfor %}
{%- for m, cols in null_with.items() %}{% for col in cols %}{% do hide_with.setdefault(col, []).append(m) %}{% endfor %}{% endfor %}

published as (
    select
        {%- set repl = [] %}
        {%- for m in measures %}
            {%- do repl.append("case when coalesce(r._c_" ~ m ~ ", true) then null else src." ~ m ~ " end as " ~ m) %}
        {%- endfor %}
        {%- for col, ms in hide_with.items() %}
            {%- set conds = ["coalesce(r.suppressed, true)"] %}
            {%- for m in ms %}{% do conds.append("coalesce(r._c_" ~ m ~ ", true)") %}{% endfor %}
            {%- do repl.append("case when " ~ conds | join(" or ") ~ " then null else src." ~ col ~ " end as " ~ col) %}
        {%- endfor %}
        {%- for col in extra_null_when_row_suppressed %}
            {%- do repl.append("case when coalesce(r.suppressed, true) then null else src." ~ col ~ " end as " ~ col) %}
        {%- endfor %}
        src.* exclude (_row_key) replace (
            {{ repl | join(",\n            ") }}
        ),
        coalesce(r.suppressed, true) as suppressed,
        case
            when coalesce(r.suppressed, true) then 'c'
            when src.{{ denominator }} = 0 then 'z'
            when len(coalesce(r.suppressed_measures, [])) > 0 then 'partial'
            else 'shown'
        end as suppression_status,
        case when r._row_key is null then [{% for m in measures %}'{{ m }}'{{ "," if not loop.last }}{% endfor %}]
            else coalesce(r.suppressed_measures, []) end as suppressed_measures
    from pub_source as src
    left join pub_rows as r on src._row_key = r._row_key
)
{%- endmacro %}
