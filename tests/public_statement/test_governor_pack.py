"""Governor pack per academy: built from the published serving files, figures as published."""
from __future__ import annotations

import polars as pl
import pytest
from pypdf import PdfReader

from tests.public_statement.conftest import SECONDARY, SPECIAL


def _text(path) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(str(path)).pages)


def test_governor_packs_show_published_figures(public_built, tmp_path):
    from pipelines.lib.public.governors import GovernorPackError, write_governor_packs

    out = write_governor_packs(public_built.serving, "2024-25", tmp_path, trust_name="Test Learning Trust")
    assert sorted(w["academy_urn"] for w in out) == [SPECIAL, SECONDARY]
    hill = _text(next(w["pdf"] for w in out if w["academy_urn"] == SECONDARY))
    assert "Hill Top Academy" in hill and "pack for governors" in hill
    for heading in ("Where leavers went, against the trust and England", "NEET and not known",
                    "Disadvantage and SEND gaps", "Stereotype-countering goals", "Compass", "Schools like ours"):
        assert heading in hill
    pub = pl.read_parquet(public_built.serving / "destination_measures_published.parquet").filter(
        (pl.col("academy_urn") == SECONDARY) & (pl.col("leaving_year") == "2024-25") & (pl.col("key_stage") == "KS4")
        & (pl.col("breakdown") == "Total") & (pl.col("round") == "R3")).to_dicts()[0]
    assert pub["school_sixth_form_pct"] == pytest.approx(50.0)
    line = next(ln for ln in hill.splitlines() if ln.startswith("School sixth form"))
    assert "50.0" in line                                     # 60 of 120, as published
    special = _text(next(w["pdf"] for w in out if w["academy_urn"] == SPECIAL))
    eet = next(ln for ln in special.splitlines() if ln.startswith("In education, employment or training"))
    assert " c" in eet and "86.7" not in eet                  # 13 of 15: withheld, never recomputed
    with pytest.raises(GovernorPackError, match="2031-32"):
        write_governor_packs(public_built.serving, "2031-32", tmp_path)


def test_only_documents_whose_figures_changed_are_rendered_again(public_built, tmp_path):
    """A run after one academy's correction redraws only the packs and statements it changes."""
    import shutil

    from pipelines.lib.public.governors import write_governor_packs
    from pipelines.lib.public.statement import write_statements, statement_years, load_rows

    serving = tmp_path / "serving"
    shutil.copytree(public_built.serving, serving)
    year = statement_years(load_rows(serving))[0]
    packs, pages = tmp_path / "governors", tmp_path / "public"
    first = write_governor_packs(serving, "2024-25", packs, trust_name="T")
    first_pages = write_statements(serving, year, pages, "T")
    assert all(w["rendered"] for w in first + first_pages)
    again = write_governor_packs(serving, "2024-25", packs, trust_name="T")
    assert not any(w["rendered"] for w in again + write_statements(serving, year, pages, "T"))
    # the secondary's published KS4 sixth-form share moves: only its pack is drawn again
    f = serving / "destination_measures_published.parquet"
    dm = pl.read_parquet(f)
    mine = (pl.col("academy_urn") == SECONDARY) & (pl.col("leaving_year") == "2024-25") & \
        (pl.col("key_stage") == "KS4") & (pl.col("breakdown") == "Total") & (pl.col("round") == "R3")
    dm.with_columns(pl.when(mine).then(pl.lit(49.0)).otherwise(pl.col("school_sixth_form_pct"))
                    .alias("school_sixth_form_pct")).write_parquet(f)
    third = {w["academy_urn"]: w["rendered"] for w in write_governor_packs(serving, "2024-25", packs, trust_name="T")}
    assert third == {SECONDARY: True, SPECIAL: False}
    line = next(ln for ln in _text(packs.glob(f"{SECONDARY}-*.pdf").__next__()).splitlines()
                if ln.startswith("School sixth form"))
    assert "49.0" in line
    # a deleted file is drawn again even though its figures did not change
    next(packs.glob(f"{SPECIAL}-*.pdf")).unlink()
    fourth = {w["academy_urn"]: w["rendered"] for w in write_governor_packs(serving, "2024-25", packs, trust_name="T")}
    assert fourth == {SECONDARY: False, SPECIAL: True}
