"""Future Skills Questionnaire and Compass evaluations: synthetic data, reading, validation, landing."""
