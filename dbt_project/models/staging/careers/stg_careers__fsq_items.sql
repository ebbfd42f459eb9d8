-- FSQ item -> construct mapping (config/fsq_constructs.yaml).
select
    upper(item_id) as item_id,
    construct,
    construct_label,
    construct_group,
    cast(in_readiness_score as boolean) as in_readiness_score,
    item_text
from {{ source('raw', 'fsq_items') }}
