-- FSQ % positive per construct, one row per level (academy | trust) x academy_urn (null for
-- trust rows) x academic_year x survey_round x year_group x construct x breakdown_topic x
-- breakdown. positive_pct = positive answers / answered items of the construct (CEC's
-- "% positive"); completion_pct = pupils who answered at least one item / pupils in the export.
-- Sub-groups come from the pupil's latest destination return; pupils never returned are 'Unknown'.
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
    -- pupil x survey with sub-groups, one row per breakdown the pupil falls in
    select
        surveys.*,
        topic.breakdown_topic,
        topic.breakdown
    from surveys
    left join characteristics using (upn)
    cross join lateral (
        values
            ('Total', 'Total'),
            ('Disadvantage', coalesce(characteristics.disadvantage_label, 'Unknown')),
            ('SEN provision', coalesce(characteristics.sen_provision_label, 'Unknown')),
            ('Sex', coalesce(characteristics.sex_label, 'Unknown'))
    ) as topic(breakdown_topic, breakdown)
),

levels as (
    select 'academy' as level, academy_urn as level_urn, * from pupils
    union all
    select 'trust' as level, null as level_urn, * from pupils
),

completion as (
    select
        level, level_urn, academic_year, survey_round, year_group, breakdown_topic, breakdown,
        count(distinct academy_urn || upn) as pupils_invited,
        count(distinct academy_urn || upn) filter (where responded) as pupils_responding
    from levels
    group by all
),

scores as (
    select
        levels.level, levels.level_urn, levels.academic_year, levels.survey_round, levels.year_group,
        levels.breakdown_topic, levels.breakdown,
        constructs.construct,
        count(distinct levels.academy_urn || levels.upn) filter (where constructs.answers > 0)
            as pupils_answering,
        coalesce(sum(constructs.answers), 0) as answers,
        coalesce(sum(constructs.positive_answers), 0) as positive_answers
    from levels
    inner join constructs
        on levels.academy_urn = constructs.academy_urn
        and levels.academic_year = constructs.academic_year
        and levels.survey_round = constructs.survey_round
        and levels.year_group = constructs.year_group
        and levels.upn = constructs.upn
    group by all
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
        on completion.level = scores.level
        and completion.level_urn is not distinct from scores.level_urn
        and completion.academic_year = scores.academic_year
        and completion.survey_round = scores.survey_round
        and completion.year_group = scores.year_group
        and completion.breakdown_topic = scores.breakdown_topic
        and completion.breakdown = scores.breakdown
        and construct_list.construct = scores.construct
)

select * from final
