-- destination_routes with disclosure control (int_disclosure__cells): routes of one frame add
-- up to frame_pupils, and academies add up to the trust row of the same route; hidden counts
-- and their shares are null.
{{ config(**by_leaving_year()) }}
with

{{ td_publish(
    mart='destination_routes',
    measures=['frame_pupils', 'pupils'],
    denominator='frame_pupils',
    pct_measures=['pupils'],
) }}

select * from published
