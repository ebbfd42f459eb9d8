"""A governor pack per academy (a few PDF pages): its destinations, NEET, gaps, goals, Compass
progress and similar schools against the trust and England.

Reads the same published serving marts as the trustee pack and renders with its PDF pieces
(pipelines/lib/report/pdf.py). A null in a published mart is a withheld cell (`c`); nothing is
recomputed or re-suppressed here.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from pipelines.lib import serving_contract as contract
from pipelines.lib.public.pdfdoc import new_pdf, save_pdf
from pipelines.lib.report.built import BuiltDocuments
from pipelines.lib.report.documents import Batch, draw_batch, drawn
from pipelines.lib.public.statement import slug
from pipelines.lib.report.model import SUPPRESSED, Column, Section, Table
from pipelines.lib.report.pdf import _heading, _para, draw_pdf, render_section
from pipelines.lib.report.serving import read_served

SHORT = contract.measure_labels(short=True)     # one label per measure (dbt seed `measures`)
DEST_MEASURES = [(m, SHORT[m]) for m in ("positive", "education", "school_sixth_form", "further_education",
                                         "higher_education", "apprenticeship", "employment", "neet", "not_known")]
KS_NAME = {"KS4": "Year 11 leavers (KS4)", "16-18": "16-18 leavers"}


class GovernorPackError(RuntimeError):
    """The serving snapshot cannot give governor packs (message says why)."""


def _mart(serving: Path, base: str, where=None) -> list[dict]:
    """A mart as directors and trustees read it (its published twin for aggregates), declared
    columns only (serving contract); `where` keeps only the rows the packs read."""
    return read_served(serving, base, "director", where)


def _by_academy(rows: list[dict]) -> dict[str | None, list[dict]]:
    """Rows indexed once by academy_urn (None: trust-level rows), so each pack reads its own rows
    instead of scanning every academy's."""
    out: dict[str | None, list[dict]] = {}
    for r in rows:
        out.setdefault(r.get("academy_urn"), []).append(r)
    return out


def _cell(row: dict | None, col: str):
    """A published cell: the value, `c` when the published mart withholds it, None when there is no row."""
    if row is None:
        return None
    v = row.get(col)
    return SUPPRESSED if v is None else v


def _actual_round(rows: list[dict], year: str) -> str | None:
    cands = sorted({(r.get("round_order") or 0, r["round"]) for r in rows
                    if r.get("leaving_year") == year and r.get("round_kind") == "actual"})
    return cands[0][1] if cands else None


def destinations_section(dm: list[dict], nat: list[dict], urn: str, year: str, rnd: str) -> Section:
    s = Section("destinations", "Where leavers went, against the trust and England", new_page=False)
    s.paragraphs.append("Actual destinations in the autumn after leaving (all leavers); EET = in education, "
                        "employment or training. England: DfE sustained "
                        "destinations for the latest year published, so a guide only. c = withheld to protect "
                        "pupils; - = not available.")
    years = sorted({r["leaving_year"] for r in dm if r.get("academy_urn") == urn and r.get("round") == rnd
                    and r["leaving_year"] <= year})[-3:]
    idx = {(r["level"], r.get("academy_urn"), r["leaving_year"], r["key_stage"]): r for r in dm
           if r.get("round") == rnd and r.get("breakdown_topic") == "Total" and r.get("breakdown") == "Total"}
    nidx = {(r["key_stage"], r["measure"]): r for r in nat
            if r.get("academy_urn") == urn and r.get("leaving_year") == year
            and r.get("breakdown_topic") == "Total" and r.get("breakdown") == "Total"}
    for ks in ("KS4", "16-18"):
        mine = idx.get(("academy", urn, year, ks))
        if mine is None or mine.get("suppression_status") == "z":
            continue
        trust = idx.get(("trust", None, year, ks))
        cols = [Column("m", "Measure (% of leavers)", "text", 3)] + \
            [Column(y, f"Academy {y}", "pct", 1.2) for y in years] + \
            [Column("t", f"Trust {year}", "pct", 1.2), Column("e", "England", "pct", 1.2)]
        rows = [["Leavers (count)"] + [_cell(idx.get(("academy", urn, y, ks)), "cohort") for y in years]
                + [_cell(trust, "cohort"), None]]
        for m, label in DEST_MEASURES:
            n = nidx.get((ks, f"{m}_pct"))
            rows.append([label] + [_cell(idx.get(("academy", urn, y, ks)), f"{m}_pct") for y in years]
                        + [_cell(trust, f"{m}_pct"), n.get("national_value") if n else None])
        note = []
        nrow = next(iter(v for (k, _), v in nidx.items() if k == ks), None)
        if nrow:
            note.append(f"England: {nrow.get('benchmark_publication')} ({nrow.get('benchmark_leaving_year')} leavers).")
        s.tables.append(Table(f"gov_dest_{ks}", KS_NAME[ks], cols, rows, notes=note, row_kinds={0: "count"}))
    if not s.tables:
        s.unavailable = f"No actual destinations for {year}."
    return s


def neet_section(nk: list[dict], urn: str, year: str, rnd: str) -> Section:
    s = Section("neet", "NEET and not known", new_page=False)
    rows = []
    for ks in ("KS4", "16-18"):
        for level, u in (("academy", urn), ("trust", None)):
            r = next((x for x in nk if x["level"] == level and x.get("academy_urn") == u
                      and x["leaving_year"] == year and x["key_stage"] == ks and x.get("round") == rnd
                      and x.get("breakdown_topic") == "Total" and x.get("breakdown") == "Total"), None)
            if r is None or (level == "academy" and r.get("suppression_status") == "z"):
                continue
            rows.append([KS_NAME[ks], "Academy" if level == "academy" else "Trust", _cell(r, "neet_pct"),
                         _cell(r, "not_known_pct"), _cell(r, "neet_not_known_pct"),
                         r.get("la_neet_not_known_pct") if level == "academy" else None,
                         r.get("england_neet_not_known_pct")])
    if not rows:
        s.unavailable = f"No NEET figures for {year}."
        return s
    cols = [Column("ks", "Leavers", "text", 2), Column("who", "", "text", 1), Column("n", "NEET %", "pct"),
            Column("k", "Not known %", "pct"), Column("nk", "NEET or not known %", "pct", 1.3),
            Column("la", "LA (NCCIS) %", "pct"), Column("e", "England (NCCIS) %", "pct", 1.2)]
    s.tables.append(Table("gov_neet", f"NEET and not known, {year} leavers", cols, rows, group_column=0,
                          notes=["LA and England: NCCIS 16-17 year olds NEET or not known (latest published)."]))
    return s


def gaps_section(gaps: list[dict], urn: str, year: str, rnd: str) -> Section:
    s = Section("gaps", "Disadvantage and SEND gaps", new_page=False)
    rows = []
    for r in sorted((g for g in gaps if g["leaving_year"] == year and g.get("round") == rnd
                     and g.get("measure") == "positive" and g["level"] in ("academy", "trust")
                     and (g["level"] == "trust" or g.get("academy_urn") == urn)),
                    key=lambda g: (g["key_stage"], g.get("gap_order") or 0, g["level"])):
        rows.append([KS_NAME.get(r["key_stage"], r["key_stage"]), r["gap"],
                     "Academy" if r["level"] == "academy" else "Trust", _cell(r, "group_pct"),
                     _cell(r, "comparison_pct"), _cell(r, "gap_pp"), r.get("national_gap_pp")])
    if not rows:
        s.unavailable = f"No gap figures for {year}."
        return s
    cols = [Column("ks", "Leavers", "text", 1.6), Column("g", "Gap (EET %)", "text", 3.2), Column("w", "", "text", 1),
            Column("a", "Group %", "pct"), Column("b", "Others %", "pct"), Column("gap", "Gap (pp)", "pp"),
            Column("n", "England gap (pp)", "pp", 1.2)]
    s.tables.append(Table("gov_gaps", f"Gaps in the share in education, employment or training, {year}", cols,
                          rows, group_column=0))
    return s


def goals_section(goals: list[dict], urn: str, year: str, rnd: str) -> Section:
    s = Section("goals", "Stereotype-countering goals", new_page=False)
    idx = {(g["goal_id"], g["level"], g.get("academy_urn")): g for g in goals
           if g["leaving_year"] == year and g.get("round") == rnd}
    rows = []
    for (gid, level, u), g in sorted(idx.items()):
        if level != "academy" or u != urn:
            continue
        t = idx.get((gid, "trust", None))
        rows.append([g["goal_title"], _cell(g, "share_pct"), _cell(t, "share_pct") if t else None,
                     g.get("target_pct"), g.get("comparator_pct")])
    if not rows:
        s.unavailable = f"No goal progress recorded for {year}."
        return s
    cols = [Column("g", "Goal", "text", 3.4), Column("a", "Academy %", "pct"), Column("t", "Trust %", "pct"),
            Column("tg", "Target %", "pct"), Column("c", "National comparator %", "pct", 1.3)]
    s.tables.append(Table("gov_goals", f"Goals, {year} leavers", cols, rows))
    return s


def compass_section(summary: list[dict], trust: list[dict], urn: str) -> Section:
    s = Section("compass", "Careers programme: Compass (Gatsby Benchmarks)", new_page=False)
    mine = sorted((r for r in summary if r["academy_urn"] == urn and r.get("is_latest_in_academic_year")),
                  key=lambda r: str(r["evaluation_date"]))[-3:]
    if not mine:
        s.unavailable = "No Compass evaluations loaded for this academy."
        return s
    tv = {(r["academic_year"], r["framework_version"]): r for r in trust
          if r.get("measure") == "avg_benchmarks_fully_achieved"}
    rows = []
    for r in mine:
        t = tv.get((r["academic_year"], r["framework_version"]), {})
        rows.append([r["academic_year"], str(r["framework_version"]), r.get("benchmarks_fully_achieved"),
                     t.get("trust_value"), t.get("national_value"), r.get("mean_percent_achieved")])
    cols = [Column("y", "Year", "text"), Column("f", "Framework", "text"),
            Column("a", "Benchmarks fully met (of 8)", "number", 1.4), Column("t", "Trust average", "number"),
            Column("e", "England average", "number"), Column("m", "Mean % achieved", "pct")]
    s.tables.append(Table("gov_compass", "Latest Compass evaluation each year", cols, rows,
                          notes=["The 2025 framework is not compared with 2018 results."]))
    return s


def similar_section(comp: list[dict], sim: list[dict], urn: str) -> Section:
    s = Section("similar", "Schools like ours", new_page=False)
    mine = sorted((r for r in comp if r["academy_urn"] == urn), key=lambda r: (r["key_stage"] != "KS4",
                                                                                 r["measure_order"]))
    peers = sorted((r for r in sim if r["academy_urn"] == urn), key=lambda r: r["similarity_rank"])
    if not peers:
        s.unavailable = ("No similar-schools comparison: it needs DfE's school-level destination measures "
                         "(england_ks4-pupdest.csv with its meta file) under raw/benchmarks/.")
        return s
    s.paragraphs.append(peers[0]["method"] + " Similar schools: " + "; ".join(
        f"{p['similar_name']} ({p['similar_urn']})" for p in peers) + ".")
    rows = [[KS_NAME.get(r["key_stage"], r["key_stage"]), SHORT.get(r["measure"], r["measure"]),
             _cell(r, "academy_pct"), r.get("similar_median_pct"), r.get("similar_min_pct"),
             r.get("similar_max_pct"), r.get("similar_schools")] for r in mine]
    cols = [Column("ks", "Leavers", "text", 1.6), Column("m", "Measure", "text", 2.8),
            Column("a", "Academy %", "pct"), Column("md", "Similar: median %", "pct", 1.2),
            Column("lo", "lowest %", "pct"), Column("hi", "highest %", "pct"), Column("n", "schools", "count")]
    yr = mine[0] if mine else {}
    s.tables.append(Table("gov_similar", "Academy against its similar schools", cols, rows, group_column=0,
                          notes=[f"Academy: {yr.get('academy_leaving_year', '-')} leavers (autumn snapshot). "
                                 f"Similar schools: DfE sustained destinations, {yr.get('similar_leaving_year', '-')} "
                                 "leavers."]))
    return s


def _draw_pack(name: str, trust_name: str, year: str, rnd: str, sections, core_fonts: bool):
    pdf = new_pdf(f"{name}: careers and destinations, governor pack {year}", trust_name,
                  f"{name} - governor pack {year} - published figures only", core_fonts)
    pdf.add_page()
    _heading(pdf, name, 17)
    _heading(pdf, f"Careers and leavers' destinations {year}: pack for governors", 12)
    _para(pdf, f"{trust_name}. Generated {date.today().isoformat()} from the trust's published figures "
               f"(actual destinations, round {rnd}). Small groups are withheld and shown as c.", 8.5, "I")
    for sec in sections:
        render_section(pdf, sec)
    return pdf


def write_governor_packs(serving: Path, year: str, out_dir: Path, urns: list[str] | None = None,
                         trust_name: str | None = None) -> list[dict]:
    """A pack per academy with actual destinations for `year`; a pack whose content (digest of its
    sections) is unchanged and whose file exists is not drawn again. Each mart is read once, only
    the rows the packs read, and indexed by academy once. Returns what was written."""
    return draw_batch(governor_batch(serving, year, out_dir, urns, trust_name))


def governor_batch(serving: Path, year: str, out_dir: Path, urns: list[str] | None = None,
                   trust_name: str | None = None) -> Batch:
    """The governor packs to draw (see write_governor_packs), as a batch for report.documents;
    its result is the list write_governor_packs returns."""
    import pyarrow.compute as pc

    if trust_name is None:
        from pipelines.config import trust_config
        trust_name = str(trust_config().get("trust_name") or "The trust")
    f = pc.field
    dm = _mart(serving, "destination_measures", f("round_kind") == "actual")
    if not dm and not _mart(serving, "destination_measures"):
        raise GovernorPackError(f"No destination_measures_published in {serving}: run `destinations run` first.")
    rnd = _actual_round(dm, year)
    if rnd is None:
        raise GovernorPackError(f"No actual destinations for leaving year {year} in the serving snapshot.")
    dm = [r for r in dm if r.get("round") == rnd]
    total = (f("breakdown_topic") == "Total") & (f("breakdown") == "Total")
    this_round = (f("leaving_year") == year) & (f("round") == rnd)
    nat = _by_academy(_mart(serving, "benchmark_national_comparison", (f("leaving_year") == year) & total))
    nk = _by_academy(_mart(serving, "neet_not_known", this_round & total))
    gaps = _mart(serving, "destination_gaps", this_round & (f("measure") == "positive"))
    goals = _by_academy(_mart(serving, "goal_progress", this_round))
    compass = _by_academy(_mart(serving, "compass_academy_summary"))
    compass_trust = _mart(serving, "compass_trust_vs_national")
    comp = _by_academy(_mart(serving, "similar_schools_comparison"))
    sim = _by_academy(_mart(serving, "similar_schools"))
    gaps_trust = [g for g in gaps if g["level"] == "trust"]
    gaps = _by_academy([g for g in gaps if g["level"] != "trust"])
    academies = sorted({(r["academy_urn"], r.get("academy_name") or r["academy_urn"]) for r in dm
                        if r["level"] == "academy" and r["leaving_year"] == year and r["round"] == rnd
                        and r.get("suppression_status") != "z"})
    dm = _by_academy(dm)
    if urns:
        unknown = set(urns) - {u for u, _ in academies}
        if unknown:
            raise GovernorPackError(f"No actual destinations for {year} for URN(s) {', '.join(sorted(unknown))}.")
        academies = [a for a in academies if a[0] in set(urns)]
    written, todo = [], []
    built = BuiltDocuments(out_dir)
    for urn, name in academies:
        trust_too = lambda rows: rows.get(urn, []) + rows.get(None, [])   # noqa: E731 - its rows + the trust's
        sections = (destinations_section(trust_too(dm), nat.get(urn, []), urn, year, rnd),
                    neet_section(trust_too(nk), urn, year, rnd),
                    gaps_section(gaps.get(urn, []) + gaps_trust, urn, year, rnd),
                    goals_section(trust_too(goals), urn, year, rnd),
                    compass_section(compass.get(urn, []), compass_trust, urn),
                    similar_section(comp.get(urn, []), sim.get(urn, []), urn))
        path = out_dir / f"{urn}-{slug(name)}-governors-{year}.pdf"
        digest = built.digest(name, trust_name, year, rnd, sections)
        same = built.unchanged(path.name, digest, path)       # same figures: the pack already says this
        written.append({"academy_urn": urn, "academy_name": name, "pdf": path, "rendered": not same})
        if not same:
            todo.append(((name, trust_name, year, rnd, sections, path), digest))

    def finish(results: list) -> list[dict]:
        for ((*_, path), digest), r in zip(todo, results):   # recorded once its file is written
            if drawn(r):
                built.record(path.name, digest)
        built.save()
        return written
    return Batch("governor packs", write_pack, [job for job, _ in todo], finish)


def write_pack(job: tuple) -> Path:
    """Draw one governor pack and write it (temp file, rename): (name, trust name, year, round,
    sections, path)."""
    name, trust_name, year, rnd, sections, path = job
    return save_pdf(draw_pdf(lambda core: _draw_pack(name, trust_name, year, rnd, sections, core)), path)
