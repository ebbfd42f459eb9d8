-- fsq_construct_scores with disclosure control (int_disclosure__cells): a row with fewer than
-- td:suppression:min_cohort responding pupils is hidden whole; positive answers (and
-- positive_pct) are hidden when the positive or non-positive answers number 1 .. min_count-1,
-- with secondary suppression across breakdowns and academies.
with

{{ td_publish(
        mart='fsq_construct_scores',
        measures=['pupils_responding', 'pupils_invited', 'pupils_answering', 'answers', 'positive_answers'],
        denominator='pupils_responding',
        null_with={'positive_answers': ['positive_pct'], 'answers': ['positive_pct'],
                   'pupils_invited': ['completion_pct']},
) }}

select * from published
