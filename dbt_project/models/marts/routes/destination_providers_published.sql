-- destination_providers with disclosure control (int_disclosure__cells): providers of one frame
-- add up to frame_pupils, and academies add up to the trust row of the same provider.
{{ config(**by_leaving_year()) }}
with

{{ td_publish(
    mart='destination_providers',
    measures=['frame_pupils', 'pupils'],
    denominator='frame_pupils',
) }}

select * from published
