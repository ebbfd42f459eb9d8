"""Synthetic demo trust generator.

`generate_trust(out, academies=None, years=4, seed=42, scale="small")` writes:

    raw/academies.csv                                  register (contract columns + laestab, estab_number)
    raw/returns/<URN>/<YYYY-YY>/<R1|R2|R3>/<file>      one return per academy x leaving year x round
    raw/fsq/..., raw/compass/...                       via pipelines.lib.careers.synthetic, if present
    _truth/pupils.parquet     one row per pupil x leaving year x round written (clean values,
                              readiness, source_file, submitted_at)
    _truth/leavers.parquet    one row per leaver (current 2026-27 pupils: destination_code null)
    _truth/academies.parquet  register with the generator's own parameters
    _truth/generator.json     summary; marks the directory as generated (safe to regenerate)

Leaving years: the `years` complete years ending 2025-26 (R1, R2, R3) plus the current
2026-27 R1 (today is 2026-11-25: about 60% of academies have submitted it). Same arguments give
byte-identical files with identical mtimes. Modules: register (academies), model (pupils,
readiness, destinations, intentions), details (route, level, provider), writers (clean and
messy file formats), calibration (every national figure the model is tuned to).
"""
from .trust import GenerateError, generate_trust

__all__ = ["generate_trust", "GenerateError"]
