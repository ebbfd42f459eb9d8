-- destination_measures with disclosure control (macros/suppression.sql): what the dashboard
-- and trustee reports show. Suppressed counts and shares are null.
{%- set counts = ['cohort'] + destination_count_definitions() | map(attribute=0) | list %}
{%- set frame = ["level", "coalesce(academy_urn, 'trust')", "leaving_year", "key_stage", "round"] %}

with

measures as (
    select
        row_number() over (order by level, academy_urn, leaving_year, key_stage, round, breakdown_topic, breakdown) as _pub_row_id,
        *
    from {{ ref('destination_measures') }} as _src
),

{{ td_publish_suppressed(
        source='measures',
        row_id='_pub_row_id',
        measures=counts,
        denominator='cohort',
        pct_measures=counts[1:],
        hierarchy=[
            ['cohort', ['positive', 'neet', 'not_known', 'other', 'undecided', 'excluded']],
            ['positive', ['education', 'apprenticeship', 'employment', 'training']],
            ['education', ['school_sixth_form', 'sixth_form_college', 'further_education',
                           'higher_education', 'other_education']],
        ],
        sibling_sets=breakdown_sibling_sets(frame, ['leaving_year', 'key_stage', 'round']),
) }}

select * from published
