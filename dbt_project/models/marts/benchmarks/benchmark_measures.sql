-- Contract §7: every published figure the pipeline has read, harmonised, one row per figure
-- and publication; `is_latest` marks the newest publication of each figure.
select
    source,
    publication,
    is_latest,
    leaving_year,
    period,
    geography_level,
    geography_code,
    key_stage,
    institution_group,
    breakdown_topic,
    breakdown,
    measure,
    value,
    suppressed,
    -- extras
    destination_year,
    geography_name,
    la_code,
    version,
    methodology,
    publication_order,
    value_flag,
    caveat
from {{ ref('stg_benchmarks__measures') }}
