"""The demo's files, messy ones included, pass the project's own return reader/validator
(pipelines.lib.returns) with no errors and parse to the truth's pupils and codes."""
from __future__ import annotations

import polars as pl
import pytest

submit = pytest.importorskip("pipelines.lib.returns.submit")
validate = pytest.importorskip("pipelines.lib.returns.validate")


def test_every_format_is_accepted_by_the_returns_reader(small_trust):
    out, _ = small_trust
    truth = pl.read_parquet(out / "_truth" / "pupils.parquet")
    files = sorted((out / "raw" / "returns").rglob("*.*"))
    # each messy format plus a few clean files, all rounds
    picked = [f for f in files if not f.name.startswith("destinations_")][::3] + \
             [f for f in files if f.name.startswith("destinations_")][::15]
    formats = {f.suffix for f in picked} | {f.name.split()[0] for f in picked}
    assert {".xlsx", "MIS"} <= formats
    for f in picked:
        urn, year, rnd = f.relative_to(out / "raw" / "returns").parts[:3]
        ctx = validate.ValidationContext(academy_urn=urn, leaving_year=year, round_id=rnd,
                                         round_kind="actual" if rnd == "R3" else "intended")
        res = submit.evaluate(f.read_bytes(), f.name, ctx)
        bad = [p for p in res.problems if p.severity in ("file", "error")
               or (p.severity == "warning" and p.rule != "upn_temporary")]
        assert not bad, (f, bad[:3])
        rel = f.relative_to(out).as_posix()
        want = truth.filter(pl.col("source_file") == rel).select("upn", "destination_code", "sex").sort("upn")
        got = res.frame.select("upn", "destination_code", "sex").sort("upn")
        assert got.equals(want), f
