-- Disadvantage and SEND gaps (percentage points) per level x academy x leaving year x key
-- stage x round x gap x measure, with the national gap for the same year where DfE has one.
{{ destination_gaps_sql(ref('destination_measures')) }}
