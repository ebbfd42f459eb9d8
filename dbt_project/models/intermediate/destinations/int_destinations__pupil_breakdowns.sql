{{ config(materialized='view') }}
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
    {{ breakdown_lateral('pupil_rounds') }}
)

select * from unpivoted
