-- fsq_construct_scores with disclosure control (int_disclosure__cells): a row with fewer than
-- td:suppression:min_cohort responding pupils is hidden whole; positive answers (and
-- positive_pct) are hidden when the positive or non-positive answers number 1 .. min_count-1,
-- with secondary suppression across breakdowns and academies. Rebuilt, like fsq_construct_scores,
-- for the survey slices of the pupils whose sub-groups changed; it empties their list
-- (macros/by_changed_pupils.sql).
-- depends_on: {{ ref('int_careers__fsq_pupil_surveys') }}
{{ config(rebuilt_by='changed_pupils', forgets_changed_pupils=true, **by_leaving_year()) }}
with

{{ td_publish(
        mart='fsq_construct_scores',
        measures=['pupils_responding', 'pupils_invited', 'pupils_answering', 'answers', 'positive_answers'],
        denominator='pupils_responding',
        null_with={'positive_answers': ['positive_pct'], 'answers': ['positive_pct'],
                   'pupils_invited': ['completion_pct']},
) }}

select * from published
