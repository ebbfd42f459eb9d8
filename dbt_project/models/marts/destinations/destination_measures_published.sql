-- destination_measures with disclosure control: what the dashboard and trustee reports show.
-- Hidden cells come from the one disclosure engine (int_disclosure__cells); hidden counts and
-- their shares are null.
{{ config(**by_leaving_year()) }}
{%- set counts = ['cohort'] + destination_count_definitions() | map(attribute=0) | list %}

with

{{ td_publish(
        mart='destination_measures',
        measures=counts,
        denominator='cohort',
        pct_measures=counts[1:],
) }}

select * from published
