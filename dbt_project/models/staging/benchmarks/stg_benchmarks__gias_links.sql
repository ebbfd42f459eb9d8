-- GIAS links between establishments (academy conversions, mergers), URNs as text.
with

source as (
    select * from {{ source('raw', 'gias_links') }}
)

select distinct
    cast(urn as varchar) as urn,
    cast(link_urn as varchar) as link_urn,
    link_name,
    link_type,
    cast(link_established_date as date) as link_established_on
from source
