{#-
  Models rebuilt per leaving year. `destinations run` names the leaving years whose returns
  changed in the environment variable DESTINATIONS_BUILD_LEAVING_YEARS (comma-separated); the
  model then deletes those years and inserts them again, keeping every other year as it is.
  Unset (a full build, a run started from the Dagster UI or a sensor, `dbt build` by hand),
  every year is deleted and inserted again: the variable can only narrow a build, never leave a
  stale year behind. (An environment variable read at run time, not a dbt var: a new --vars value
  makes dbt re-parse the whole project, seconds on every run.)

  In a model:
      {{ config(**by_leaving_year()) }}
      ... from {{ ref('...') }} where {{ leaving_years_changed() }}

  The materialization `by_leaving_year` (below) does that delete and insert straight from the
  model's query in one transaction: no temporary table, no backup table, no schema sync.
-#}

{% macro by_leaving_year() %}
  {{ return({'materialized': 'by_leaving_year'}) }}
{% endmacro %}

{#- True when this build keeps the table and replaces some (or all) of its leaving years. -#}
{% macro rebuilds_by_year() %}
  {%- if not execute -%}
    {{ return(false) }}
  {%- endif -%}
  {%- if model.config.materialized != 'by_leaving_year' -%}
    {{ return(is_incremental()) }}   {#- unit tests override is_incremental -#}
  {%- endif -%}
  {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) -%}
  {{ return(existing is not none and existing.type == 'table' and not should_full_refresh()) }}
{% endmacro %}

{#- The leaving years this build rebuilds (DESTINATIONS_BUILD_LEAVING_YEARS), or none for all of them. -#}
{% macro build_leaving_years() %}
  {%- if not execute -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set raw = env_var('DESTINATIONS_BUILD_LEAVING_YEARS', '*') | trim -%}
  {%- if raw == '*' -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return(raw.split(',') | map('trim') | reject('equalto', '') | list) }}
{% endmacro %}

{#- The leaving years to rebuild, or none for all of them. -#}
{% macro changed_leaving_years() %}
  {%- if not execute or not rebuilds_by_year() -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return(build_leaving_years()) }}
{% endmacro %}

{#- What this build replaces: none (every row), or {'where': a predicate on the model's rows, and
    'years' (the changed leaving years) or 'labels' (with `rebuilt_by: changed_pupils`: the engine
    partitions, int_disclosure__cells partition_label, of the FSQ survey slices of the pupils whose
    sub-groups changed; macros/by_changed_pupils.sql)}. -#}
{% macro td_rebuilt_part() %}
  {%- if not execute -%}
    {{ return(none) }}
  {%- endif -%}
  {%- if model.config.get('rebuilt_by') == 'changed_pupils' -%}
    {%- set slices = td_changed_fsq_slices() -%}
    {%- if slices is none -%}
      {{ return(none) }}
    {%- endif -%}
    {%- set labels, tests = [], [] -%}
    {%- for key, test in slices %}
      {%- do labels.append(td_fsq_slice_columns() | join(',') ~ '=' ~ key) -%}
      {%- do tests.append('(' ~ test ~ ')') -%}
    {%- endfor -%}
    {{ return({'where': '(' ~ (tests | join(' or ') or 'false') ~ ')', 'labels': labels}) }}
  {%- endif -%}
  {%- set years = changed_leaving_years() -%}
  {{ return(none if years is none else {'where': leaving_years_in(years), 'years': years}) }}
{% endmacro %}

{#- A predicate on the rows this build replaces (td_rebuilt_part): true for all of them. -#}
{% macro rebuilt_rows() %}
  {%- set part = td_rebuilt_part() -%}
  {{ return('true' if part is none else part['where']) }}
{% endmacro %}

{#- A predicate on leaving_year: the changed years in an incremental build, else true. -#}
{% macro leaving_years_changed(column='leaving_year') %}
  {{ leaving_years_in(changed_leaving_years(), column) }}
{% endmacro %}

{#- A predicate on leaving_year: one of `years`; none: true. -#}
{% macro leaving_years_in(years, column='leaving_year') %}
  {%- if years is none -%}
    true
  {%- elif years | length == 0 -%}
    false
  {%- else -%}
    {{ column }} in ({% for y in years %}'{{ y | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor %})
  {%- endif -%}
{% endmacro %}

{#- (name, type) of each column, in order: of a table, or of a query (DuckDB DESCRIBE). -#}
{% macro _td_columns(columns) %}
  {%- set out = [] -%}
  {%- for c in columns -%}
    {%- do out.append((c.name | lower, c.dtype | upper)) -%}
  {%- endfor -%}
  {{ return(out) }}
{% endmacro %}

{#-
  Kept table, same columns: `delete <changed years>; insert <the query>` in one transaction
  (BEGIN, DESCRIBE, delete + insert, COMMIT). First build or --full-refresh: the table is
  created from the query. Columns changed (a model edit): with every year selected the table is
  made again from the query; with only some years selected the build stops, since the other
  years' rows would keep the old columns (a changed model makes `destinations run` rebuild
  every year).
-#}
{% materialization by_leaving_year, adapter='duckdb' %}
  {%- set target = this.incorporate(type='table') -%}
  {%- set existing = load_cached_relation(this) -%}
  {%- set keep = rebuilds_by_year() -%}
  {%- set part = td_rebuilt_part() -%}
  {%- set rows = 'true' if part is none else part['where'] -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {%- set replace = not keep -%}
  {%- if keep -%}
    {%- set now = _td_columns(adapter.get_columns_in_relation(existing)) -%}
    {%- set new = _td_columns(adapter.get_column_schema_from_query(sql)) -%}
    {%- if now != new -%}
      {%- if part is not none -%}
        {{ exceptions.raise_compiler_error(
            this ~ ": the model's columns changed, so every leaving year must be rebuilt (a full build: "
            ~ "unset DESTINATIONS_BUILD_LEAVING_YEARS). Table: " ~ now ~ "; query: " ~ new) }}
      {%- endif -%}
      {%- set replace = true -%}
    {%- endif -%}
  {%- endif -%}

  {#- its content hash, from the previous one: the replaced years' rows are hashed before they go -#}
  {%- set hash_by_year = not replace and td_content_hash_by_year() -%}
  {%- if hash_by_year -%}
    {%- set gone = td_hash_of_years(rows) -%}
  {%- endif -%}

  {% call statement('main') -%}
    {%- if replace %}
      {%- if existing is not none %}
    drop {{ existing.type }} if exists {{ existing }} cascade;
      {%- endif %}
    {{ create_table_as(false, target, sql) }}
    {%- else %}
    delete from {{ target }} where {{ rows }};
    insert into {{ target }}
    select * from (
        {{ sql }}
    ) as by_leaving_year_rows
    {%- endif %}
  {%- endcall %}

  {% if replace and existing is not none %}
    {% do adapter.cache_dropped(existing) %}
  {% endif %}
  {%- if hash_by_year -%}
    {% do run_query(td_content_hash_after_years(rows, gone)) %}
  {%- endif -%}
  {% do persist_docs(target, model) %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {%- if model.config.get('forgets_changed_pupils') -%}
    {% do td_forget_changed_pupils() %}
  {%- endif -%}
  {% do adapter.commit() %}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target]}) }}
{%- endmaterialization %}
