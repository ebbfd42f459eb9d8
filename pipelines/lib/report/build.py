"""Assemble the trustee pack from the serving snapshot and write PDF, XLSX and chart PNGs."""
from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

from pipelines.lib import serving_contract as contract
from pipelines.lib.report import careers, charts, content
from pipelines.lib.report.model import SUPPRESSED, Chart, Pack, Section
from pipelines.lib.report.pdf import render_pdf
from pipelines.lib.report.serving import read_mart, served_table
from pipelines.lib.report.xlsx import render_xlsx

YEAR_RE = re.compile(r"^\d{4}-\d{2}$")
OGL = ("Contains public sector information licensed under the Open Government Licence v3.0 "
       "(https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/).")
DEST_MART = "destination_measures"


class ReportDataError(RuntimeError):
    """The serving snapshot cannot give a pack for this year (message says why)."""


def valid_year(year: str) -> bool:
    from pipelines.config import is_leaving_year
    return bool(YEAR_RE.match(year or "")) and is_leaving_year(year)


def _actual_rounds() -> list[str]:
    try:
        from pipelines.config import rounds
        ids = [r.id for r in rounds() if r.kind == "actual"]
        return ids or ["R3"]
    except Exception:  # noqa: BLE001 - configuration unreadable: the contract's actual round
        return ["R3"]


def _round_ids() -> list[str]:
    try:
        from pipelines.config import round_ids
        return round_ids()
    except Exception:  # noqa: BLE001
        return ["R1", "R2", "R3"]


def _trust_name() -> str:
    try:
        from pipelines.config import trust_config
        return str(trust_config().get("trust_name") or "The trust")
    except Exception:  # noqa: BLE001
        return "The trust"


def report_years(serving_dir: Path) -> list[str]:
    """Leaving years with actual-round destination data in the snapshot, newest first."""
    from pipelines.lib.report.serving import served_table
    served = served_table(serving_dir, DEST_MART)
    if served is None:
        return []
    actual = set(_actual_rounds())
    rows = served[1].select(["leaving_year", "round"]).group_by(["leaving_year", "round"]).aggregate([]).to_pylist()
    years = {r["leaving_year"] for r in rows if r.get("round") in actual and r.get("leaving_year")}
    return sorted(years, reverse=True)


def _pick_round(rows: list[dict], year: str) -> str | None:
    present = {r.get("round") for r in rows if r.get("leaving_year") == year}
    return next((r for r in _actual_rounds() if r in present), None)


def _rows(snap: contract.Snapshot, base: str, where: dict | None = None) -> list[dict]:
    m = read_mart(snap, base, (where or {}).get(base))
    return m.rows if m else []


def _trend_chart(t, chart_dir: Path, later: charts.Later) -> Chart | None:
    by: dict[str, list] = {}
    for r in t.rows:
        by.setdefault(r[0], []).append(r)
    if not by:
        return None
    years = max((([r[1] for r in rows]) for rows in by.values()), key=len)
    col = {ks: {r[1]: r for r in rows} for ks, rows in by.items()}
    eet = {f"{ks}": [col[ks].get(y, [None] * 7)[3] for y in years] for ks in by}
    neet = {f"{ks}": [col[ks].get(y, [None] * 7)[4] for y in years] for ks in by}
    ks0 = "KS4" if "KS4" in by else next(iter(by))
    refs = {"England (NCCIS)": [col[ks0].get(y, [None] * 7)[6] for y in years],
            "Trust's LAs": [col[ks0].get(y, [None] * 7)[5] for y in years]}
    p = later.add(charts.trend_panels, chart_dir / "trend.png", years,
                  [(contract.measure_labels()["positive"], eet, {}), (f"NEET (comparators: {ks0})", neet, refs)],
                  f"Trust, actual destinations by leaving year, {years[0]} to {years[-1]}")
    return Chart(str(p), "Five-year trend by key stage (solid); NEET against England and the trust's local "
                         "authorities (dashed). Withheld (c) years are gaps in the lines.")


def assemble(year: str, serving_dir: Path, chart_dir: Path, generated_at: str) -> Pack:
    snap = contract.Snapshot(serving_dir)  # one resolved folder for every file of this pack
    later = charts.Later()                 # the charts, drawn together once the pack is assembled
    served = served_table(snap, DEST_MART)
    if served is None:
        raise ReportDataError(f"No {DEST_MART} in the serving snapshot {serving_dir}: run `destinations run` first.")
    head = served[1].select(["leaving_year", "round"]).to_pylist()      # every row's year and round
    years = sorted({r.get("leaving_year") for r in head if r.get("leaving_year")})
    if year not in years:
        raise ReportDataError(f"The serving snapshot has no destination data for leaving year {year}. "
                              f"Years with data: {', '.join(years) or 'none'}.")
    rnd = _pick_round(head, year)
    if rnd is None:
        raise ReportDataError(f"Leaving year {year} has no actual destinations ({'/'.join(_actual_rounds())}) yet; "
                              "the trustee pack reports actual destinations. Rounds present: "
                              + ", ".join(sorted({r.get('round') for r in head if r.get('leaving_year') == year})))
    keep = content.figure_rows(year, rnd)       # only the rows the pack's figures read
    figs = content.load_figures(year, rnd, read_mart(snap, DEST_MART, keep[DEST_MART]).rows,
                                _rows(snap, "neet_not_known", keep), _rows(snap, "benchmark_national_comparison", keep),
                                _rows(snap, "destination_gaps", keep), _rows(snap, "neet_la_comparator", keep),
                                names=served[1].select(["academy_urn", "academy_name"]).to_pylist())
    sections: list[Section] = []
    sources: set[str] = set()

    # five-year trend first: where the trust is heading
    s = Section("trend", "Five-year trend")
    s.paragraphs.append("The trust's leavers in education, employment or training (EET) and NEET in the autumn after "
                        "leaving, for the last five leaving years, against England and the trust's local authorities.")
    tt = content.trend_table(figs)
    ch = _trend_chart(tt, chart_dir, later)
    if ch:
        s.charts.append(ch)
    s.tables.append(tt)
    sections.append(s)

    # destinations by sub-group
    s = Section("destinations", "Destinations by sub-group, with national comparison", new_page=False)
    s.paragraphs.append("Where each group of leavers was in the autumn after leaving, for the trust as a whole "
                        "(academies that had joined by the start of the leaving year). The right-hand columns "
                        "compare the share in education, employment or training (EET) with the same group "
                        "nationally.")
    for ks in figs.key_stages():
        t, used = content.subgroup_table(figs, ks)
        sources |= {f"{r['benchmark_source']}: {r['benchmark_publication']}" for r in used
                    if r.get("benchmark_publication")}
        picks = [("Total", "Total"), ("Disadvantage", "Disadvantaged"), ("Disadvantage", "Not disadvantaged"),
                 ("SEN provision", "No SEN"), ("SEN provision", "SEN support"), ("SEN provision", "EHC plan"),
                 ("Sex", "Female"), ("Sex", "Male")]
        labels, vals, marks = [], [], []
        for topic, b in picks:
            row = next((r for r in t.rows if r[0] == topic and r[1] == b), None)
            if row is None:
                continue
            labels.append(b)
            vals.append(row[3])
            marks.append(row[-2])
        if labels:
            p = later.add(charts.bars_with_markers, chart_dir / f"eet_by_subgroup_{ks.replace('-', '_')}.png",
                          labels, vals, marks, f"{content.KS_LEAVERS[ks].capitalize()}: % in education, employment "
                          f"or training, {year}", "Trust (autumn snapshot)", "National (DfE sustained)", xmax=100)
            s.charts.append(Chart(str(p), f"Trust {content.KS_LEAVERS[ks]}: EET % by sub-group; diamonds: "
                                          "national figure for the same group where published. c = withheld."))
        s.tables.append(t)
    rc = read_mart(snap, "destination_reconciliation_rates")
    rt = careers.reconciliation_table(rc.rows, year, rc.published, _round_ids()) if rc else None
    if rt is not None:
        s.tables.append(rt)
    sections.append(s)

    # NEET and not known
    s = Section("neet", "NEET and not known", new_page=False)
    s.paragraphs.append("Leavers not in education, employment or training (NEET) and those whose activity the "
                        "academy could not confirm (not known), by academy and by sub-group, against each academy's "
                        "local authority, the trust's local authorities together, and England.")
    neet_tables = content.neet_tables(figs)
    for t in neet_tables:
        if t.id.startswith("NEET by academy"):
            ks = "KS4" if t.id.endswith("KS4") else "16-18"
            p = later.add(charts.bars_with_markers, chart_dir / f"neet_by_academy_{ks.replace('-', '_')}.png",
                          [r[0] for r in t.rows], [r[2] for r in t.rows], [r[6] for r in t.rows],
                          f"{content.KS_LEAVERS[ks].capitalize()}: % NEET, {year}",
                          "NEET %", "Local authority (trust: LAs weighted by leavers)")
            s.charts.append(Chart(str(p), "% NEET by academy and for the trust; diamonds: the local authority "
                                          "comparator (NCCIS 16-17). c = withheld."))
    s.tables += neet_tables
    pubs = {r.get("comparator_publication") for r in figs.nn.values() if r.get("comparator_publication")}
    sources |= {f"nccis_neet: {p}" for p in pubs}
    sections.append(s)

    # gaps
    s = Section("gaps", new_page=False, title="Disadvantage and SEND gaps")
    s.paragraphs.append("How disadvantaged pupils and pupils with special educational needs fared against their "
                        "peers, and the national gap between the same groups.")
    s.tables.append(content.gap_table(figs))
    sections.append(s)

    # stereotype goals
    s = Section("goals", new_page=False, title="Stereotype-countering goals against targets")
    gm = read_mart(snap, "goal_progress")
    goal_summary = []
    if gm is None:
        s.unavailable = f"Not available for {year}: the goal progress mart is not in the serving snapshot."
    else:
        t, goal_summary = careers.goal_rows(gm.rows, year, gm.published, rnd)
        if t is None:
            s.unavailable = f"Not available for {year}: no goal progress recorded for this leaving year."
        else:
            s.paragraphs.append("The trust's goals for countering stereotypes in the routes leavers enter "
                                "(trust configuration), with the target and a national comparator.")
            p = later.add(charts.bars_with_markers, chart_dir / "goals.png", [r[0] for r in t.rows],
                          [r[3] for r in t.rows], [r[4] for r in t.rows], f"Stereotype-countering goals, {year}",
                          "Trust", "Target", xmax=100)
            s.charts.append(Chart(str(p), "Trust figure per goal; diamonds: the trust's target. c = withheld."))
            s.tables.append(t)
    sections.append(s)

    # FSQ and Compass
    s = Section("careers", new_page=False, title="Future Skills Questionnaire and Compass")
    s.paragraphs.append("How career-ready pupils say they are (Future Skills Questionnaire), whether readiness "
                        "shows in destinations, and how the academies rate their careers programmes against the "
                        "eight Gatsby Benchmarks (Compass).")
    missing = []
    import pyarrow.compute as pc
    fm = read_mart(snap, "fsq_construct_scores",    # the trust's rows of the year only (of ~200k)
                   where=(pc.field("academic_year") == year) & (pc.field("level") == "trust")
                   & (pc.field("breakdown_topic") == "Total"))
    ft = careers.fsq_table(fm.rows, year, fm.published) if fm else None
    if ft is not None:
        s.tables.append(ft)
    else:
        missing.append(f"Future Skills Questionnaire results are not available for {year}.")
    rm = read_mart(snap, "fsq_destination_rates")
    rt = careers.readiness_table(rm.rows, year, rm.published) if rm else None
    if rt is not None:
        s.tables.append(rt)
    cn = read_mart(snap, "compass_trust_vs_national")
    cnt, chart = careers.compass_national_table(cn.rows, year) if cn else (None, {})
    cm = read_mart(snap, "compass_benchmark_trends")
    ct, trust_avg = careers.compass_table(cm.rows, year) if cm else (None, {})
    if chart:
        fw = sorted(chart)[0]
        series = {"Trust": [chart[fw].get(i, (None, None))[0] for i in range(1, 9)],
                  "National": [chart[fw].get(i, (None, None))[1] for i in range(1, 9)]}
        if all(v is None for v in series["National"]):
            del series["National"]  # 2025 framework: no comparable national figure
        p = later.add(charts.grouped_bars, chart_dir / "compass.png", [f"BM{i}" for i in range(1, 9)], series,
                      f"Compass {year} ({fw} framework): % of academies fully achieving each benchmark")
        s.charts.append(Chart(str(p), "Share of academies fully achieving each Gatsby Benchmark in their latest "
                                      "evaluation of the year, against the national share where published."))
    elif ct is not None:
        p = later.add(charts.grouped_bars, chart_dir / "compass.png", [f"BM{i}" for i in range(1, 9)],
                      {"Trust average % achieved": [trust_avg.get(i) for i in range(1, 9)]},
                      f"Compass: Gatsby Benchmarks, trust average, {year}")
        s.charts.append(Chart(str(p), "Average % of each benchmark's criteria achieved across academies "
                                      "(latest evaluation of each)."))
    if cnt is not None:
        s.tables.append(cnt)
    if ct is not None:
        s.tables.append(ct)
    if cnt is None and ct is None:
        missing.append(f"Compass evaluations are not available for {year}.")
    if missing and not s.tables:
        s.unavailable = " ".join(missing)
    else:
        s.paragraphs += missing
    sections.append(s)

    # data completeness
    s = Section("completeness", new_page=False, title="Data completeness")
    s.paragraphs.append("Which academies returned each round of destinations for this cohort, and whether on time.")
    dq = read_mart(snap, "return_status")
    dt = careers.completeness_table(dq.rows, year, _round_ids(), dq.published, figs.academy_names) if dq else None
    if dt is not None and careers.completeness_summary(dt):
        s.paragraphs.append(careers.completeness_summary(dt))
    if dt is not None:
        s.tables.append(dt)
    else:
        s.unavailable = f"Not available for {year}: the return-status mart is not in the serving snapshot."
    sections.append(s)

    # methods
    s = Section("methods", new_page=False, title="Methods and caveats", paragraphs=methods_text(year, rnd, sorted(sources)))
    sections.append(s)

    # appendix
    s = Section("appendix", "Appendix: each academy")
    s.paragraphs.append(f"Actual destinations ({rnd}) of each academy's leavers in {year} by sub-group. " + content.rule_text())
    for urn, name, t in content.appendix_tables(figs):
        s.tables.append(t)
    sections.append(s)

    for sec in sections:  # the rule beside every table that shows c or z
        for t in sec.tables:
            if any(v in (SUPPRESSED, "z") for r in t.rows for v in r) and not any("c = withheld" in n for n in t.notes):
                t.notes.append(content.rule_text())
    found = content.findings(figs, goal_summary)
    later.draw()
    return Pack(year=year, trust_name=_trust_name(), round=rnd, findings=found, sections=sections,
                sources=sorted(sources), generated_at=generated_at,
                xlsx_only={"appendix": content.appendix_sheet(figs)}, key_table=content.key_figures(figs))


def methods_text(year: str, rnd: str, sources: list[str]) -> list[str]:
    out = [
        f"What the trust's figures are. Each academy returns every leaver's destination three times: intended "
        f"destinations in the autumn and summer of the leaving year, and the actual destination ({rnd}) in the "
        "autumn after leaving, checked in line with the local authority's activity survey. This report uses the "
        "actual destinations. Codes follow the NCCIS activity codes; EET (positive) = education, apprenticeship, "
        "employment or training. Percentages are of all leavers returned; trust totals include the academies that "
        "had joined the trust by the start of the leaving year.",
        "National destination measures ('sustained'). DfE counts a destination only if it is sustained for the "
        "first two terms after leaving (October to March; apprenticeships six months in August to July; "
        "employment five of the six months), from matched administrative data, and publishes it about two years "
        "later. The trust's figure is a snapshot of the autumn after leaving, so it usually runs higher and has no "
        "'not captured' group. National figures are therefore for an earlier cohort and a different measure: read "
        "differences as indicative. DfE's 2025 methodology change recalculated earlier years; only the newest "
        "publication of each figure is used.",
        "NEET and not known. The trust's NEET share counts its own leavers once, in the autumn after leaving. "
        "The national comparator is the NCCIS figure for 16-17 year olds (academic age) living in England, "
        "averaged over the end of December, January and February.",
        "Disclosure control. The report reads only what directors and trustees may read: the published "
        "(suppressed) versions of the warehouse marts, the same cells the dashboard shows them; no pupil names or "
        "UPNs are used. Small groups and counts are withheld by the warehouse (shown as c), together with further "
        "cells chosen so that no withheld figure can be worked out from totals, other sub-groups or other "
        "academies. The pack prints those cells as published and works nothing out itself.",
        "Compass and the Future Skills Questionnaire. Compass scores are the academies' own self-evaluations "
        "against the eight Gatsby Benchmarks; the benchmarks were refreshed from September 2025, so 2018 and 2025 "
        "framework scores are not compared. FSQ results are the share of positive answers per construct under the "
        "trust's item mapping.",
        "Sources. Trust figures: the trust's destination returns, FSQ exports and Compass evaluations, as published "
        "by the warehouse. National figures: DfE Explore Education Statistics (key stage 4 and 16-18 destination "
        "measures), DfE NEET and participation (NCCIS) local authority figures, and the sources named in the "
        "trust's goal configuration." + (" Publications used: " + "; ".join(sources) + "." if sources else ""),
        OGL,
    ]
    return out


def _atomic_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)


# every mart the pack reads (assemble): its digest is theirs, as published
PACK_MARTS = (DEST_MART, "neet_not_known", "benchmark_national_comparison", "destination_gaps", "neet_la_comparator",
              "destination_reconciliation_rates", "goal_progress", "fsq_construct_scores", "fsq_destination_rates",
              "compass_trust_vs_national", "compass_benchmark_trends", "return_status")


def pack_inputs_digest(serving_dir: Path, year: str) -> str | None:
    """Digest of everything the trustee pack for `year` is drawn from: the published content hash
    of each mart it reads (serving manifest), the trust's name and rounds, and the drawing code.
    None when the manifest lacks a hash (an older snapshot): then the pack is always drawn."""
    from pipelines.lib.publish import read_manifest
    from pipelines.lib.report.built import BuiltDocuments
    from pipelines.lib.report.serving import AUDIENCE

    hashes = read_manifest(serving_dir).get("hashes") or {}
    if not hashes:
        return None
    snap = contract.Snapshot(serving_dir)
    used = {}
    for base in PACK_MARTS:
        name = contract.source_for(base, AUDIENCE).whole
        if snap.has(name) and name not in hashes:
            return None
        used[name] = hashes.get(name, "absent")
    return BuiltDocuments.digest("trustee pack", year, _trust_name(), _actual_rounds(), _round_ids(),
                                 sorted(contract.measure_labels().items()), sorted(used.items()))


def write_trustee_pack(serving_dir: Path, year: str, out_dir: Path) -> dict:
    """The trustee pack for `year` in out_dir, drawn only when what it is drawn from changed (see
    pack_inputs_digest) or a file of it is missing: {"rendered": bool, "pdf", "xlsx", "summary"}."""
    from pipelines.lib.report.documents import draw_batch
    return draw_batch(trustee_batch(serving_dir, year, out_dir))


def _build_pack_job(job: tuple) -> dict:
    year, out_dir, serving_dir = job
    return build_pack(year, out_dir, serving_dir)


def trustee_batch(serving_dir: Path, year: str, out_dir: Path):
    """The trustee pack to draw, if it must be (see write_trustee_pack), as a batch for
    report.documents; its result is what write_trustee_pack returns."""
    from pipelines.lib.report.built import BuiltDocuments
    from pipelines.lib.report.documents import Batch, drawn

    out_dir = Path(out_dir)
    files = {"pdf": out_dir / f"trustee_report_{year}.pdf", "xlsx": out_dir / f"trustee_report_{year}.xlsx",
             "summary": out_dir / f"trustee_report_{year}.json"}
    built = BuiltDocuments(out_dir)
    key = f"trustee_report_{year}"
    digest = pack_inputs_digest(serving_dir, year)
    same = digest is not None and built.unchanged(key, digest, *files.values())

    def finish(results: list) -> dict | None:
        if same:
            return {"rendered": False, **files}
        if not drawn(results[0]):
            return None          # draw_batches reports the failure
        if digest is not None:
            built.record(key, digest)
            built.save()
        return {"rendered": True, **results[0]}
    return Batch("trustee pack", _build_pack_job, [] if same else [(year, out_dir, Path(serving_dir))], finish)


def build_pack(year: str, out_dir: Path, serving_dir: Path, generated_at: datetime | None = None) -> dict:
    """Write the trustee pack for one leaving year into out_dir.

    Returns {"pdf": Path, "xlsx": Path, "charts": [Path], "summary": Path}. Raises ValueError for a
    malformed year and ReportDataError when the snapshot has no actual destinations for it.
    Same snapshot and generated_at give byte-identical files.
    """
    if not valid_year(year):
        raise ValueError(f"leaving year must look like 2024-25, got {year!r}")
    out_dir, serving_dir = Path(out_dir), Path(serving_dir)
    when = (generated_at or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    stamp = when.strftime("%Y-%m-%d %H:%M UTC")
    chart_dir = out_dir / "charts"
    chart_dir.mkdir(parents=True, exist_ok=True)
    for old in chart_dir.glob("*.png"):
        old.unlink()
    pack = assemble(year, serving_dir, chart_dir, stamp)
    pdf = render_pdf(pack, out_dir / f"trustee_report_{year}.pdf", when)
    xlsx = render_xlsx(pack, out_dir / f"trustee_report_{year}.xlsx", when,
                       extra_sheets=[("Methods and caveats", "Methods", methods_text(year, pack.round, pack.sources))])
    summary = out_dir / f"trustee_report_{year}.json"
    _atomic_json(summary, {
        "leaving_year": year, "round": pack.round, "generated_at": stamp,
        "findings": [f.text for f in pack.findings],
        "sections": [{"id": s.id, "title": s.title, "available": s.unavailable is None,
                      "tables": [t.id for t in s.tables]} for s in pack.sections],
        "withheld_cells": sum(1 for t in pack.tables() for r in t.rows for v in r if v == SUPPRESSED),
    })
    return {"pdf": pdf, "xlsx": out_dir / f"trustee_report_{year}.xlsx", "summary": summary,
            "charts": sorted(chart_dir.glob("*.png"))}
