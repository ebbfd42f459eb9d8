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
-#}

{% macro by_leaving_year() %}
  {{ return({
      'materialized': 'incremental',
      'incremental_strategy': 'append',
      'on_schema_change': 'sync_all_columns',
      'pre_hook': "{% if is_incremental() %}delete from {{ this }} where {{ leaving_years_changed() }}{% endif %}",
  }) }}
{% endmacro %}

{#- The leaving years to rebuild, or none for all of them. -#}
{% macro changed_leaving_years() %}
  {%- if not execute or not is_incremental() -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set raw = env_var('DESTINATIONS_BUILD_LEAVING_YEARS', '*') | trim -%}
  {%- if raw == '*' -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return(raw.split(',') | map('trim') | reject('equalto', '') | list) }}
{% endmacro %}

{#- A predicate on leaving_year: the changed years in an incremental build, else true. -#}
{% macro leaving_years_changed(column='leaving_year') %}
  {%- set years = changed_leaving_years() -%}
  {%- if years is none -%}
    true
  {%- elif years | length == 0 -%}
    false
  {%- else -%}
    {{ column }} in ({% for y in years %}'{{ y | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor %})
  {%- endif -%}
{% endmacro %}
