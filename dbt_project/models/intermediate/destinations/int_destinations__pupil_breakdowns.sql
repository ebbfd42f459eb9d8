-- Pupil x round x breakdown: one row per breakdown (of each topic) the pupil falls in.
with

pupil_rounds as (
    select * from {{ ref('int_destinations__pupil_rounds') }}
),

unpivoted as (
    select
        pupil_rounds.*,
        topic.breakdown_topic,
        topic.breakdown
    from pupil_rounds
    cross join lateral (
        values
            ('Total', 'Total'),
            ('Disadvantage', pupil_rounds.disadvantage_label),
            ('SEN provision', pupil_rounds.sen_provision_label),
            ('Sex', pupil_rounds.sex_label),
            ('Ethnicity major', pupil_rounds.ethnicity_major),
            ('Disadvantage and sex',
                pupil_rounds.disadvantage_label || ' ' || pupil_rounds.sex_label)
    ) as topic(breakdown_topic, breakdown)
)

select * from unpivoted
