-- Readiness bands: min_pct <= score < max_pct (the top band includes its max).
select
    band as readiness_band,
    cast(band_order as integer) as band_order,
    cast(min_pct as double) as min_pct,
    cast(max_pct as double) as max_pct,
    band_order = max(band_order) over () as is_top_band
from {{ source('raw', 'fsq_readiness_bands') }}
