-- One row per UPN: sex, disadvantage and SEN from the pupil's latest destination-return row
-- (latest leaving year, then latest round). Pupils never returned are 'Unknown' in the marts.
-- It lists the pupils whose sub-groups a build changed, for fsq_construct_scores to rebuild just
-- their survey slices (macros/by_changed_pupils.sql).
{{ config(materialized='records_changed_pupils') }}
with

returns as (
    select * from {{ source('raw', 'destination_returns') }}
),

rounds as (
    select * from {{ source('raw', 'rounds') }}
),

ranked as (
    select
        upper(trim(returns.upn)) as upn,
        returns.sex,
        returns.disadvantaged,
        returns.sen_provision,
        returns.leaving_year,
        returns.round,
        row_number() over (
            partition by upper(trim(returns.upn))
            order by returns.leaving_year desc, coalesce(rounds.round_order, 0) desc, returns.round desc,
                returns.academy_urn
        ) as _rank
    from returns
    left join rounds on returns.round = rounds.round
)

select
    upn,
    case sex when 'F' then 'Female' when 'M' then 'Male' else 'Unknown' end as sex_label,
    case when disadvantaged then 'Disadvantaged' when not disadvantaged then 'Not disadvantaged'
        else 'Unknown' end as disadvantage_label,
    case sen_provision when 'N' then 'No SEN' when 'K' then 'SEN support' when 'E' then 'EHC plan'
        else 'Unknown' end as sen_provision_label,
    leaving_year as characteristics_leaving_year,
    round as characteristics_round
from ranked
where _rank = 1
