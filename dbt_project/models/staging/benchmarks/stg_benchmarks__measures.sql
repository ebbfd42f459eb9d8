-- Published benchmark figures, one row per figure and publication (see the raw source).
with

source as (
    select * from {{ source('raw', 'benchmark_measures_raw') }}
)

select
    source,
    publication,
    cast(is_latest as boolean) as is_latest,
    leaving_year,
    period,
    geography_level,
    geography_code,
    key_stage,
    institution_group,
    breakdown_topic,
    breakdown,
    measure,
    cast(value as double) as value,
    cast(suppressed as boolean) as suppressed,
    destination_year,
    geography_name,
    la_code,
    version,
    methodology,
    cast(publication_order as bigint) as publication_order,
    value_flag,
    caveat,
    source_file
from source
