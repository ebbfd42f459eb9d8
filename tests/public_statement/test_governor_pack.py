"""Governor pack per academy: built from the published serving files, figures as published."""
from __future__ import annotations

import re

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
        (pl.col("leaving_year") == "2024-25") & (pl.col("key_stage") == "KS4")
        & (pl.col("breakdown") == "Total") & (pl.col("round") == "R3") & (pl.col("level") == "academy"))
    from pipelines.lib.public.governors import DEST_MEASURES
    from pipelines.lib.serving_contract import fmt_number
    labels = {m: label for m, label in DEST_MEASURES if m in ("positive", "school_sixth_form", "further_education",
                                                               "apprenticeship", "neet")}
    shown = withheld = 0
    for urn in (SECONDARY, SPECIAL):
        row = pub.filter(pl.col("academy_urn") == urn).to_dicts()[0]
        text = _text(next(w["pdf"] for w in out if w["academy_urn"] == urn))
        for m, label in labels.items():
            line = next(ln for ln in text.splitlines() if ln.startswith(label))
            cell = line[len(label):].split()[1]   # columns: academy 2023-24, 2024-25, trust, England
            if row[f"{m}_pct"] is None:      # withheld in the published layer: c, never recomputed
                assert cell == "c", (urn, m, line)
                withheld += 1
            else:                            # as published, one decimal
                assert cell == fmt_number(row[f"{m}_pct"], "pct"), (urn, m, line, row[f"{m}_pct"])
                shown += 1
    assert shown and withheld
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
    # the public statements read another mart: unchanged, so none is drawn; then the secondary's
    # published apprenticeship text moves and only its statement (HTML and PDF) is drawn again
    assert not any(w["rendered"] for w in write_statements(serving, year, pages, "T"))
    special_html = next(pages.glob(f"{SPECIAL}-*.html")).read_bytes()
    f = serving / "public_destination_statement.parquet"
    ps = pl.read_parquet(f)
    mine = (pl.col("academy_urn") == SECONDARY) & (pl.col("leaving_year") == year) & \
        (pl.col("key_stage") == "KS4") & (pl.col("measure") == "apprenticeship")
    assert ps.filter(mine).height == 1
    ps.with_columns(pl.when(mine).then(pl.lit("35%")).otherwise(pl.col("public_text")).alias("public_text")) \
        .write_parquet(f)
    redrawn = {w["academy_urn"]: w["rendered"] for w in write_statements(serving, year, pages, "T")}
    assert redrawn == {SECONDARY: True, SPECIAL: False}
    html = next(pages.glob(f"{SECONDARY}-*.html")).read_text()
    row = re.search(r'<th scope="row">Apprenticeship[^<]*</th>(.*?)</tr>', html, flags=re.S).group(1)
    assert re.findall(r"<td>([^<]*)</td>", row)[-2] == "35%"        # the statement year, England last
    assert any(ln.startswith("Apprenticeship") and "35%" in ln
               for ln in _text(next(pages.glob(f"{SECONDARY}-*.pdf"))).splitlines())
    assert next(pages.glob(f"{SPECIAL}-*.html")).read_bytes() == special_html
    # a deleted file is drawn again even though its figures did not change
    next(packs.glob(f"{SPECIAL}-*.pdf")).unlink()
    fourth = {w["academy_urn"]: w["rendered"] for w in write_governor_packs(serving, "2024-25", packs, trust_name="T")}
    assert fourth == {SECONDARY: False, SPECIAL: True}


def test_worker_processes_draw_the_same_files(public_built, tmp_path, monkeypatch):
    """Governor packs and statements drawn by worker processes as well as this one: the same files
    (bytes, the creation time aside) as drawn one after another here, and the same digests."""
    import json

    from pipelines.lib.public.governors import write_governor_packs
    from pipelines.lib.public.statement import write_statements
    from pipelines.lib.report import workers

    def draw(n: int):
        monkeypatch.setenv("DESTINATIONS_DOCUMENT_WORKERS", str(n))
        out = tmp_path / f"p{n}"
        write_governor_packs(public_built.serving, "2024-25", out / "gov", trust_name="T")
        write_statements(public_built.serving, "2024-25", out / "pub", "T")
        stamp = re.compile(rb"/CreationDate \(D:[^)]*\)|/ID \[<[0-9A-F]+><[0-9A-F]+>\]")   # the time, and the id made from it
        return {str(f.relative_to(out)): stamp.sub(b"", f.read_bytes()) for f in sorted(out.rglob("*"))
                if f.is_file()}

    monkeypatch.setattr(workers, "POOL_FROM", 1)
    serial, pooled = draw(1), draw(2)
    assert sorted(serial) == sorted(pooled) and len([f for f in serial if f.endswith(".pdf")]) == 4
    assert serial == pooled
    assert json.loads(pooled["gov/.built.json"]) and json.loads(pooled["pub/.built.json"])
