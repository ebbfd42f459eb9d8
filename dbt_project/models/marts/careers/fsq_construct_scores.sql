-- FSQ % positive per construct, one row per level (academy | trust) x academy_urn (null for
-- trust rows) x academic_year x survey_round x year_group x construct x breakdown_topic x
-- breakdown. positive_pct = positive answers / answered items of the construct (CEC's
-- "% positive"); completion_pct = pupils who answered at least one item / pupils in the export.
-- Sub-groups come from the pupil's latest destination return; pupils never returned are 'Unknown'.
-- Set-based: pupils are counted once per academy x survey x (sex, disadvantage, SEN) cell, and
-- only those cells are summed to each level x breakdown, in one grouping set each (a pupil is
-- counted once per academy, so trust counts are sums of academy counts). The labels are never
-- null (coalesced to 'Unknown'), so a null label marks the grouping sets that leave it out.
-- After a corrected return, only the survey slices (academic_year x survey_round x year_group)
-- of the pupils whose sub-groups changed are rebuilt (macros/by_changed_pupils.sql).
{{ config(rebuilt_by='changed_pupils', **by_leaving_year()) }}
with

constructs as (
    select * from {{ ref('int_careers__fsq_pupil_constructs') }}
),

surveys as (
    select * from {{ ref('int_careers__fsq_pupil_surveys') }}
),

characteristics as (
    select * from {{ ref('int_careers__pupil_characteristics') }}
),

construct_list as (
    select distinct construct, construct_label, construct_group from {{ ref('stg_careers__fsq_items') }}
),

pupils as (
    -- pupil x survey with sub-groups; `counted` as the pupil key (academy + UPN) is known
    select
        surveys.academy_urn, surveys.academic_year, surveys.survey_round, surveys.year_group, surveys.upn,
        surveys.responded,
        surveys.academy_urn is not null and surveys.upn is not null as counted,
        coalesce(characteristics.disadvantage_label, 'Unknown') as disadvantage_label,
        coalesce(characteristics.sen_provision_label, 'Unknown') as sen_provision_label,
        coalesce(characteristics.sex_label, 'Unknown') as sex_label
    from surveys
    left join characteristics using (upn)
    where {{ rebuilt_rows() }}
),

cell_completion as (
    select
        academy_urn, academic_year, survey_round, year_group,
        disadvantage_label, sen_provision_label, sex_label,
        count(*) filter (where counted) as pupils_invited,
        count(*) filter (where counted and responded) as pupils_responding
    from pupils
    group by all
),

cell_scores as (
    -- a pupil survey's construct rows with all five keys known (as a join to `pupils` would keep),
    -- with the pupil's sub-groups: one join on UPN, not a second five-key join to the surveys
    select
        constructs.academy_urn, constructs.academic_year, constructs.survey_round, constructs.year_group,
        coalesce(characteristics.disadvantage_label, 'Unknown') as disadvantage_label,
        coalesce(characteristics.sen_provision_label, 'Unknown') as sen_provision_label,
        coalesce(characteristics.sex_label, 'Unknown') as sex_label,
        constructs.construct,
        count(*) filter (where constructs.answers > 0) as pupils_answering,
        sum(constructs.answers) as answers,
        sum(constructs.positive_answers) as positive_answers
    from constructs
    left join characteristics using (upn)
    where constructs.academy_urn is not null and constructs.academic_year is not null
        and constructs.survey_round is not null and constructs.year_group is not null
        and constructs.upn is not null
        and {{ rebuilt_rows() }}
    group by all
),

{#- one grouping set per level (academy, trust) x breakdown topic (Total, then one label each) -#}
{%- set grouping_sets = [] -%}
{%- for level in [['academy_urn'], []] -%}
    {%- for topic in [[], ['disadvantage_label'], ['sen_provision_label'], ['sex_label']] -%}
        {%- do grouping_sets.append(level + topic) -%}
    {%- endfor -%}
{%- endfor %}
{% set level_and_topic %}
        case when grouping(academy_urn) = 0 then 'academy' else 'trust' end as level,
        academy_urn as level_urn, academic_year, survey_round, year_group,
        case
            when grouping(disadvantage_label) = 0 then 'Disadvantage'
            when grouping(sen_provision_label) = 0 then 'SEN provision'
            when grouping(sex_label) = 0 then 'Sex'
            else 'Total'
        end as breakdown_topic,
        coalesce(disadvantage_label, sen_provision_label, sex_label, 'Total') as breakdown,
{% endset %}

completion as (
    select
        {{ level_and_topic }}
        cast(sum(pupils_invited) as bigint) as pupils_invited,
        cast(sum(pupils_responding) as bigint) as pupils_responding
    from cell_completion
    group by grouping sets ({% for g in grouping_sets %}
        ({{ (['academic_year', 'survey_round', 'year_group'] + g) | join(', ') }}){{ ',' if not loop.last }}{% endfor %})
),

scores as (
    select
        {{ level_and_topic }}
        construct,
        cast(sum(pupils_answering) as bigint) as pupils_answering,
        sum(answers) as answers,
        sum(positive_answers) as positive_answers
    from cell_scores
    group by grouping sets ({% for g in grouping_sets %}
        ({{ (['academic_year', 'survey_round', 'year_group', 'construct'] + g) | join(', ') }}){{ ',' if not loop.last }}{% endfor %})
),

final as (
    select
        completion.level,
        completion.level_urn as academy_urn,
        completion.academic_year,
        completion.survey_round,
        case completion.survey_round when 'autumn' then 1 when 'spring' then 2 else 3 end as survey_round_order,
        completion.year_group,
        construct_list.construct,
        construct_list.construct_label,
        construct_list.construct_group,
        completion.breakdown_topic,
        completion.breakdown,
        completion.pupils_invited,
        completion.pupils_responding,
        {{ pct('completion.pupils_responding', 'completion.pupils_invited') }} as completion_pct,
        coalesce(scores.pupils_answering, 0) as pupils_answering,
        coalesce(scores.answers, 0) as answers,
        coalesce(scores.positive_answers, 0) as positive_answers,
        {{ pct('scores.positive_answers', 'scores.answers') }} as positive_pct
    from completion
    cross join construct_list
    left join scores
        on {{ td_same_row('completion', 'scores', ['level', 'level_urn', 'academic_year', 'survey_round',
                                                   'year_group', 'breakdown_topic', 'breakdown']) }}
        and construct_list.construct = scores.construct
)

select * from final
