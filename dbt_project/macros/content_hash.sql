{#- Each mart's content hash, recorded on the table (its comment) by the build that made it, in the
    model's transaction (the rows and their hash commit together). The serving snapshot
    (pipelines/lib/publish.py) takes it instead of hashing any mart, and writes a mart again when it
    has none or the cheap check fails (row count, columns). The hash: rows, an order-independent sum
    of row hashes, columns and types (`rows:sum:name:TYPE,...`, the only place it is computed). -#}
{% macro td_record_content_hash() %}
  {%- if execute and model.config.materialized != 'view' -%}
    {%- set row = run_query(
      "select cast(count(*) as varchar) || ':' || cast(coalesce(sum(hash(t)::hugeint), 0) as varchar) || ':' || "
      ~ "(select string_agg(column_name || ':' || data_type, ',' order by ordinal_position) "
      ~ "from information_schema.columns where table_schema = '" ~ this.schema ~ "' and table_name = '"
      ~ this.identifier ~ "') from " ~ this ~ " t").rows[0] -%}
    comment on table {{ this }} is '{{ ("td-content-hash " ~ row[0]) | replace("'", "''") }}'
  {%- endif -%}
{% endmacro %}
