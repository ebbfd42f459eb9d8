"""Checks on loaded return rows that Great Expectations cannot express (plain, tested functions)."""
from __future__ import annotations

import polars as pl

import pipelines.config as cfg
from pipelines.lib.returns.validate import upn_reasons


def loaded_rule_failures(rows: pl.DataFrame) -> list[dict]:
    """Problems in rows of raw.destination_returns: [{rule, count, examples}] (empty = all good).

    - every UPN has a valid check letter (and temporary UPNs are flagged as such);
    - UND (undecided) only in intended rounds, per the round kinds in config/trust.yaml;
    - no pre-16 codes (1xx);
    - one current file per academy x leaving year x round.
    """
    out: list[dict] = []
    if rows.height == 0:
        return out
    kinds = {r.id: r.kind for r in cfg.rounds()}

    def add(rule: str, bad: pl.DataFrame, show: str) -> None:
        if bad.height:
            out.append({"rule": rule, "count": bad.height, "examples": bad[show].head(5).to_list()})

    upns = rows.select("upn", "upn_is_temporary").unique()
    bad_upn = upns.filter(upn_reasons(upns["upn"]).is_not_null())   # upn_problem, vectorised
    add("upn_check_letter", bad_upn, "upn")
    temp_wrong = upns.filter(pl.col("upn").str.contains(r"[A-Z]$") != pl.col("upn_is_temporary"))
    add("upn_temporary_flag", temp_wrong, "upn")
    actual = [r for r, k in kinds.items() if k == "actual"]
    add("undecided_in_actual_round",
        rows.filter(pl.col("round").is_in(actual) & (pl.col("destination_code") == "UND")), "upn")
    add("pre16_code", rows.filter(pl.col("destination_code").str.contains(r"^1[0-9]{2}$")), "upn")
    files = rows.group_by("academy_urn", "leaving_year", "round").agg(pl.col("source_file").n_unique().alias("n"))
    add("one_current_file", files.filter(pl.col("n") > 1), "academy_urn")
    return out
