{#- Each mart's content hash, recorded on the table (its comment) by the build that made it, in the
    model's transaction (the rows and their hash commit together). The serving snapshot
    (pipelines/lib/publish.py) takes it instead of hashing any mart, and writes a mart again when it
    has none or the cheap check fails (row count, columns). The hash: rows, an order-independent sum
    of row hashes, columns and types (`rows:sum:name:TYPE,...`, the only place it is computed).
    A model rebuilt for some leaving years (macros/by_leaving_year.sql) records it itself from the
    table's previous hash: rows and sum minus the replaced years' rows, plus the new ones (the sum
    is exact, so the hash is the one a whole-table pass gives); this post-hook leaves it alone. -#}
{% macro td_record_content_hash() %}
  {%- if execute and model.config.materialized != 'view' and not td_content_hash_by_year() -%}
    {%- set row = run_query(
      "select " ~ _td_hash_sum("t") ~ " || ':' || " ~ _td_hash_columns() ~ " from " ~ this ~ " t").rows[0] -%}
    {{ _td_hash_comment(row[0]) }}
  {%- endif -%}
{% endmacro %}

{#- `rows:sum` of the rows of `alias` (a table alias, read whole as one row value). -#}
{% macro _td_hash_sum(alias) -%}
  cast(count(*) as varchar) || ':' || cast(coalesce(sum(hash({{ alias }})::hugeint), 0) as varchar)
{%- endmacro %}

{#- `name:TYPE,...` of this model's table, in column order (a scalar subquery). -#}
{% macro _td_hash_columns() -%}
  (select string_agg(column_name || ':' || data_type, ',' order by ordinal_position)
   from information_schema.columns where table_schema = '{{ this.schema }}' and table_name = '{{ this.identifier }}')
{%- endmacro %}

{#- How the hash is marked in the table's comment (pipelines/lib/publish.py HASH_COMMENT reads it). -#}
{% macro _td_hash_prefix() %}{{ return('td-content-hash ') }}{% endmacro %}

{% macro _td_hash_comment(hash) -%}
    comment on table {{ this }} is '{{ (_td_hash_prefix() ~ hash) | replace("'", "''") }}'
{%- endmacro %}

{#- True when this build replaces some rows (leaving years, FSQ slices) of a kept table whose hash it records itself. -#}
{% macro td_content_hash_by_year() %}
  {{ return(execute and model.config.materialized == 'by_leaving_year'
            and 'td_record_content_hash' in (model.config.get('post-hook', []) | map(attribute='sql') | join(' '))
            and td_rebuilt_part() is not none) }}
{% endmacro %}

{#- `rows:sum` of the years this build replaces (years_sql: the predicate), before it replaces them. -#}
{% macro td_hash_of_years(years_sql) %}
  {{ return(run_query("select " ~ _td_hash_sum("t") ~ " from " ~ this ~ " t where " ~ years_sql).rows[0][0]) }}
{% endmacro %}

{#- After the years were replaced: the table's hash from its previous one (its comment), less `gone`
    (td_hash_of_years before), plus the same years now; a table without a readable previous hash
    is hashed whole. A statement to run in the model's transaction. -#}
{% macro td_content_hash_after_years(years_sql, gone) %}
  {%- set comment = run_query("select comment from duckdb_tables() where schema_name = '" ~ this.schema
                               ~ "' and table_name = '" ~ this.identifier ~ "'").rows -%}
  {%- set old = (comment[0][0] or '') if comment else '' -%}
  {%- set parts = old.split(':') -%}
  {%- set prefix = _td_hash_prefix() -%}
  {%- if old.startswith(prefix) and parts | length >= 3 -%}
    {%- set old_rows, old_sum = parts[0][prefix | length:], parts[1] -%}
    {%- set gone_rows, gone_sum = gone.split(':') -%}
    {%- set sql -%}
      with added as (select count(*) as n, coalesce(sum(hash(t)::hugeint), 0) as s from {{ this }} t where {{ years_sql }})
      select cast({{ old_rows | int }} - {{ gone_rows | int }} + added.n as varchar) || ':'
          || cast(cast('{{ old_sum }}' as hugeint) - cast('{{ gone_sum }}' as hugeint) + added.s as varchar)
          || ':' || {{ _td_hash_columns() }}
      from added
    {%- endset -%}
  {%- else -%}
    {%- set sql = "select " ~ _td_hash_sum("t") ~ " || ':' || " ~ _td_hash_columns() ~ " from " ~ this ~ " t" -%}
  {%- endif -%}
  {{ return(_td_hash_comment(run_query(sql).rows[0][0])) }}
{% endmacro %}
