-- One row per academy x Compass evaluation: benchmarks fully achieved (of 8), mean % achieved,
-- criteria counts, and the change since the previous evaluation of the same framework only.
with

evaluations as (
    select * from {{ ref('int_careers__compass_evaluations') }}
),

academies as (
    select urn as academy_urn, name as academy_name from {{ source('raw', 'academies') }}
)

select
    evaluations.academy_urn,
    academies.academy_name,
    evaluations.* exclude (academy_urn)
from evaluations
left join academies using (academy_urn)
