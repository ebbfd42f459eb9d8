{#-
  FSQ scores rebuilt for the pupils whose sub-groups changed. A corrected return changes the sex,
  disadvantage or SEN of at most its own pupils, so only the survey slices (academic_year x
  survey_round x year_group: academy and trust rows) where one of them was surveyed can change.

  int_careers__pupil_characteristics (materialization `records_changed_pupils`, below) adds the
  UPNs whose sub-groups it changed to int_careers__pupil_characteristics_changes, in its
  transaction; a whole rebuild (no earlier table, a changed model, every leaving year being built:
  a full build, the Dagster UI, a sensor) writes a null UPN there instead: every pupil.
  fsq_construct_scores and its published twin (by_leaving_year with `rebuilt_by: changed_pupils`)
  then delete and insert only the slices where those pupils were surveyed; the twin, built last,
  empties the list in its transaction. So a run killed in between finds the pupils still listed
  and rebuilds their slices again; any doubt (no list, a null UPN) rebuilds every slice.
-#}

{#- The slice a pupil survey belongs to (the engine's partition of fsq_construct_scores). -#}
{% macro td_fsq_slice_columns() %}
  {{ return(['academic_year', 'survey_round', 'year_group']) }}
{% endmacro %}

{% macro td_changed_pupils_relation() %}
  {{ return(api.Relation.create(database=this.database, schema='intermediate',
                                identifier='int_careers__pupil_characteristics_changes', type='table')) }}
{% endmacro %}

{#- Whether the list exists (asked of the database: dbt's relation cache, filled when the run
    started, misses a list made by this run). -#}
{% macro td_changed_pupils_listed() %}
  {%- set changes = td_changed_pupils_relation() -%}
  {{ return(run_query("select count(*) from duckdb_tables() where database_name = '" ~ changes.database
                      ~ "' and schema_name = '" ~ changes.schema ~ "' and table_name = '" ~ changes.identifier
                      ~ "'").rows[0][0] > 0) }}
{% endmacro %}

{#- The slices where a listed pupil was surveyed, each as (its row key: td_row_key of
    td_fsq_slice_columns, a test of those columns against typed constants: cheaper than row keys
    over millions of rows); none: every slice (no kept table to update, every leaving year being
    built, no list, or the list says every pupil). -#}
{% macro td_changed_fsq_slices() %}
  {%- if not execute or not rebuilds_by_year() or build_leaving_years() is none -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set surveys = ref('int_careers__fsq_pupil_surveys') -%}   {#- a model using this says depends_on it -#}
  {%- set changes = td_changed_pupils_relation() -%}
  {%- if not td_changed_pupils_listed() -%}
    {{ return(none) }}
  {%- endif -%}
  {%- if run_query("select count(*) filter (where upn is null) from " ~ changes).rows[0][0] > 0 -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set tests = [] -%}
  {%- for c in td_fsq_slice_columns() -%}
    {%- set test -%}
      case when s.{{ c }} is null then '{{ c }} is null'
        else '{{ c }} = cast(''' || replace(cast(s.{{ c }} as varchar), '''', '''''') || ''' as ' || typeof(s.{{ c }}) || ')' end
    {%- endset -%}
    {%- do tests.append(test) -%}
  {%- endfor -%}
  {%- set rows = run_query(
      "select distinct " ~ td_row_key(td_fsq_slice_columns(), 's') ~ " as slice, concat_ws(' and ', "
      ~ tests | join(', ') ~ ") as test from " ~ surveys ~ " s"
      ~ " where s.upn in (select upn from " ~ changes ~ ") order by 1").rows -%}
  {%- set out = [] -%}
  {%- for r in rows %}{% do out.append((r[0], r[1])) %}{% endfor -%}
  {{ return(out) }}
{% endmacro %}

{#- After a build of the last model that reads the list: it is empty (in that model's transaction). -#}
{% macro td_forget_changed_pupils() %}
  {%- if td_changed_pupils_listed() -%}
    {% do run_query("delete from " ~ td_changed_pupils_relation()) %}
  {%- endif -%}
{% endmacro %}

{#-
  A table kept whole that also lists, in int_careers__pupil_characteristics_changes, the UPNs
  whose sub-groups (the model's columns but upn, characteristics_leaving_year and _round) this
  build changed: the query into a temporary table, the differences both ways, then the table's
  rows replaced, in one transaction. A whole rebuild lists a null UPN (every pupil).
-#}
{% materialization records_changed_pupils, adapter='duckdb' %}
  {%- set target = this.incorporate(type='table') -%}
  {%- set existing = load_cached_relation(this) -%}
  {%- set changes = td_changed_pupils_relation() -%}
  {%- set compare = existing is not none and existing.type == 'table' and not should_full_refresh()
                    and build_leaving_years() is not none -%}
  {%- if compare -%}
    {%- set compare = _td_columns(adapter.get_columns_in_relation(existing))
                      == _td_columns(adapter.get_column_schema_from_query(sql)) -%}
  {%- endif -%}
  {%- set groups = 'upn, sex_label, disadvantage_label, sen_provision_label' -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% call statement('main') -%}
    {%- if compare %}
    create or replace temporary table td_new_characteristics as {{ sql }};
    create table if not exists {{ changes }} as select cast(null as varchar) as upn;
    insert into {{ changes }}
    select distinct upn from (
        (select {{ groups }} from {{ target }} except all select {{ groups }} from td_new_characteristics)
        union all
        (select {{ groups }} from td_new_characteristics except all select {{ groups }} from {{ target }})
    ) where upn is not null;
    delete from {{ target }};
    insert into {{ target }} select * from td_new_characteristics;
    drop table td_new_characteristics;
    {%- else %}
      {%- if existing is not none %}
    drop {{ existing.type }} if exists {{ existing }} cascade;
      {%- endif %}
    create or replace table {{ changes }} as select cast(null as varchar) as upn;
    {{ create_table_as(false, target, sql) }}
    {%- endif %}
  {%- endcall %}

  {% if not compare and existing is not none %}
    {% do adapter.cache_dropped(existing) %}
  {% endif %}
  {% do persist_docs(target, model) %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do adapter.commit() %}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target]}) }}
{%- endmaterialization %}
