"""Sections from the marts other than destination_measures: stereotype goals, FSQ, Compass and
data completeness. Each reads the mart directors may read (the serving contract) and says
plainly when it is not in the snapshot for the year. Pure formatting over row dicts: a
withheld cell is `c` because the published row says so; nothing is suppressed or recomputed here."""
from __future__ import annotations

from collections import defaultdict

from pipelines.lib import serving_contract as contract
from pipelines.lib.report.model import NOT_AVAILABLE, SUPPRESSED, Column, Table


KS_ORDER = {"KS4": 0, "16-18": 1}


def col(rows: list[dict], *names: str) -> str | None:
    """The contract column if these rows have it (the contract names one column per figure)."""
    keys = set(rows[0]) if rows else set()
    return next((n for n in names if n in keys), None)


def number(v) -> float | None:
    return None if contract.is_missing(v) or isinstance(v, bool) else float(v)


def cell(r: dict, name: str | None, published: bool = True, pct: bool = True):
    """A published cell: the number, `c` when the row says withheld, `z` when there is no figure."""
    if name is None:
        return None
    return contract.state(r, name) or float(r[name])


def for_year(rows: list[dict], year: str) -> list[dict]:
    c = col(rows, "leaving_year", "academic_year", "year")
    return [r for r in rows if c is None or str(r.get(c)) == year]


# ---------------------------------------------------------------- stereotype goals
def goal_rows(rows: list[dict], year: str, published: bool, round_: str | None = None) -> tuple[Table | None, list[dict]]:
    rows = for_year(rows, year)
    if round_ and rows and "round" in rows[0]:
        rows = [r for r in rows if r.get("round") == round_]
    if not rows:
        return None, []
    lvl = col(rows, "level")
    trust = [r for r in rows if lvl is None or r.get(lvl) == "trust"]
    c_title = col(rows, "title", "goal_title", "goal_id")
    c_id = col(rows, "goal_id", "id")
    c_num = col(rows, "numerator", "population_entrants", "count")
    c_den = col(rows, "denominator", "route_entrants", "cohort")
    c_share = col(rows, "share_pct", "value_pct", "share", "pct")
    c_target = col(rows, "target_pct", "target")
    c_comp = col(rows, "comparator_pct", "national_pct", "comparator")
    c_track = col(rows, "on_track", "met_target", "is_on_track")
    c_dir = col(rows, "direction")
    c_ks = col(rows, "key_stage")
    cols = [Column("goal", "Goal", "text", 3.2), Column("denominator", "Base", "count"),
            Column("numerator", "Count", "count"), Column("share_pct", "Trust %", "pct"),
            Column("target_pct", "Target %", "pct"), Column("comparator_pct", "National %", "pct"),
            Column("on_track", "Target", "text", 1.0)]
    out, summary = [], []
    for r in sorted(trust, key=lambda r: (str(r.get(c_id)), str(r.get(c_ks)))):
        den, num, share = cell(r, c_den, published), cell(r, c_num, published), cell(r, c_share, published)
        track = r.get(c_track) if c_track else None
        if share == SUPPRESSED:
            track_txt = SUPPRESSED
        elif track is None:
            track_txt = NOT_AVAILABLE
        else:
            track_txt = "met" if track else "not met"
        title = str(r.get(c_title) or r.get(c_id))
        if c_ks and r.get(c_ks) not in (None, "all"):
            title += f" ({r.get(c_ks)})"
        out.append([title, den, num, share,
                    number(r.get(c_target)) if c_target else None,
                    number(r.get(c_comp)) if c_comp else None, track_txt])
        summary.append({"goal_id": r.get(c_id), "title": title, "share": share,
                        "target": number(r.get(c_target)) if c_target else None,
                        "direction": r.get(c_dir) if c_dir else "at_least",
                        "on_track": None if share == SUPPRESSED else (bool(track) if track is not None else None)})
    srcs = sorted({f"{r.get('comparator_description') or ''} ({r.get('comparator_year') or ''}): "
                   f"{r.get('comparator_source')}" for r in trust if r.get("comparator_source")})
    notes = ["Trust level, actual destinations. Base = leavers the measure counts (e.g. all leavers entering "
             "the routes); Count = those in the goal's population; Trust % = Count / Base.",
             "Targets and national comparators are the trust's goal configuration; comparators are national "
             "figures for apprenticeship starts or entries, not the same population as the trust's leavers."]
    notes += [f"Comparator source: {s}" for s in srcs]
    return Table("Stereotype goals", f"Stereotype-countering goals against targets, trust, {year}", cols, out,
                 notes), summary


# ---------------------------------------------------------------- FSQ
def fsq_table(rows: list[dict], year: str, published: bool) -> Table | None:
    """Trust % positive per construct x year group, latest survey round of the academic year."""
    rows = for_year(rows, year)
    if not rows:
        return None
    c_lvl = col(rows, "level")
    c_topic = col(rows, "breakdown_topic")
    c_con = col(rows, "construct_label", "construct", "construct_id")
    c_pct = col(rows, "positive_pct", "pct_positive", "score_pct", "percent_positive")
    c_n = col(rows, "pupils_responding", "pupils_answering", "respondents", "pupils")
    c_grp = col(rows, "construct_group")
    c_yg = col(rows, "year_group")
    c_round = col(rows, "survey_round")
    c_ord = col(rows, "survey_round_order")
    if c_con is None or c_pct is None:
        return None
    keep = [r for r in rows if (c_lvl is None or r.get(c_lvl) == "trust")
            and (c_topic is None or r.get(c_topic) == "Total")]
    if not keep:
        return None
    survey = None
    if c_round:
        survey = max({(r.get(c_ord) if c_ord else 0, str(r.get(c_round))) for r in keep})[1]
        keep = [r for r in keep if str(r.get(c_round)) == survey]
    ygs = sorted({r.get(c_yg) for r in keep if r.get(c_yg) is not None}, key=lambda y: (len(str(y)), str(y))) \
        if c_yg else [None]
    cols = [Column("group", "Group", "text", 1.8), Column("construct", "Construct", "text", 2.8)]
    cols += [Column(f"y{y}", f"Year {y} %" if y is not None else "% positive", "pct") for y in ygs]
    grid: dict = defaultdict(dict)
    n_by_year: dict = {}
    meta = {}
    for r in keep:
        y = r.get(c_yg) if c_yg else None
        n, pct = cell(r, c_n, published), cell(r, c_pct, published)
        grid[r.get(c_con)][y] = pct
        meta[r.get(c_con)] = r.get(c_grp) or ""
        n_by_year[y] = n
    out = [[meta[k], k] + [grid[k].get(y) for y in ygs]
           for k in sorted(grid, key=lambda k: (meta[k] != "Career readiness", meta[k], k))]
    out.append(["", "Pupils responding"] + [n_by_year.get(y) for y in ygs])
    kinds = {len(out) - 1: "count"}
    t = Table("FSQ", f"Future Skills Questionnaire: % positive by construct and year group, trust, {year}"
              + (f" ({survey} survey)" if survey else ""), cols, out,
              ["% positive = share of answered items answered Agree or Strongly agree (trust configuration of "
               "items and constructs). Latest survey round of the academic year; trust level, all pupils."])
    t.row_kinds = kinds
    return t


def readiness_table(rows: list[dict], year: str, published: bool) -> Table | None:
    """Leavers' destinations by their FSQ readiness band (trust, Total): the impact view."""
    rows = for_year(rows, year)
    c_band = col(rows, "readiness_band")
    if not rows or c_band is None:
        return None
    c_ord = col(rows, "readiness_band_order")
    keep = [r for r in rows if r.get("level", "trust") == "trust" and r.get("breakdown_topic", "Total") == "Total"
            and str(r.get(c_band)).lower() != "all"]
    cols = [Column("key_stage", "Key stage", "text", 1.0), Column("band", "Readiness band", "text", 2.2),
            Column("cohort", "Leavers", "count", 1.6), Column("positive_pct", "EET %", "pct"),
            Column("neet_pct", "NEET %", "pct"), Column("not_known_pct", "NK %", "pct")]
    out = []
    for r in sorted(keep, key=lambda r: (KS_ORDER.get(r.get("key_stage"), 9), r.get(c_ord) if c_ord else 0,
                                         str(r.get(c_band)))):
        n = cell(r, "cohort", published)
        vals = [cell(r, m, published) for m in ("positive_pct", "neet_pct", "not_known_pct")]
        out.append([r.get("key_stage"), r.get(c_band), n] + vals)
    if not out:
        return None
    return Table("FSQ readiness", f"Destinations by careers readiness (FSQ), trust leavers {year}", cols, out,
                 ["Each leaver's readiness score is the % of positive answers to the career knowledge and "
                  "readiness items in their latest FSQ before leaving, banded as configured; 'No FSQ' = no "
                  "survey answered. Shares are of the leavers in the NEET denominator (custody codes excluded), "
                  "as published by the warehouse."])


RECON = [("realised", "Realised %"), ("changed_route", "Changed route %"), ("became_neet", "Became NEET %"),
         ("became_not_known", "Became NK %"), ("no_intention_recorded", "No intention %"),
         ("not_in_actual_return", "Not in R3 %")]


def reconciliation_table(rows: list[dict], year: str, published: bool, round_ids: list[str]) -> Table | None:
    """Trust, all leavers: what happened against the last intended round (shares only)."""
    rows = [r for r in for_year(rows, year) if r.get("level") == "trust" and r.get("breakdown_topic") == "Total"]
    if not rows:
        return None
    rounds = {r.get("intended_round") for r in rows}
    last = max(rounds, key=lambda x: round_ids.index(x) if x in round_ids else -1)
    cols = [Column("key_stage", "Key stage", "text", 1.0), Column("intended_round", "Intended", "text", 1.0)]
    cols += [Column(m, label, "pct") for m, label in RECON]
    out = []
    for r in sorted((r for r in rows if r.get("intended_round") == last),
                    key=lambda r: (KS_ORDER.get(r.get("key_stage"), 9), str(r.get("key_stage")))):
        vals = [cell(r, f"{m}_pct", published) for m, _ in RECON]
        out.append([r.get("key_stage"), last] + vals)
    return Table("Intended vs actual", f"Intended against actual destinations, trust, {year}", cols, out,
                 [f"Each leaver's intended destination in {last} against their actual destination: realised = same "
                  "destination group, changed route = another positive destination, became NEET / not known, no "
                  "intention recorded, or missing from the actual return. Shares of the pupils in either return, "
                  "as published (c = withheld)."])


# ---------------------------------------------------------------- Compass
def compass_table(rows: list[dict], year: str) -> tuple[Table | None, dict]:
    """Latest evaluation per academy in or before the year: % achieved by benchmark."""
    if not rows:
        return None, {}
    c_urn = col(rows, "academy_urn", "urn")
    c_name = col(rows, "academy_name", "name")
    c_date = col(rows, "evaluation_date", "date")
    c_bm = col(rows, "benchmark")
    c_pct = col(rows, "percent_achieved", "pct_achieved", "score_pct")
    c_fw = col(rows, "framework_version")
    c_lvl = col(rows, "level")
    if not (c_urn and c_date and c_bm and c_pct):
        return None, {}
    end = f"{int(year[:4]) + 1}-08-31"
    rows = [r for r in rows if str(r.get(c_date))[:10] <= end and r.get(c_urn)
            and (c_lvl is None or r.get(c_lvl) == "academy")]
    if "academic_year" in (rows[0] if rows else {}):  # evaluations of the leavers' final year
        rows = [r for r in rows if r.get("academic_year") == year]
    latest: dict = {}
    for r in rows:
        u = r[c_urn]
        if str(r[c_date])[:10] > str(latest.get(u, ""))[:10]:
            latest[u] = r[c_date]
    if not latest:
        return None, {}
    grid: dict = defaultdict(dict)
    meta = {}
    for r in rows:
        u = r[c_urn]
        if r[c_date] == latest[u]:
            try:
                bm = int(r[c_bm])
            except (TypeError, ValueError):
                continue
            grid[u][bm] = number(r[c_pct])
            meta[u] = (r.get(c_name) or u, str(r[c_date])[:10], r.get(c_fw) if c_fw else None)
    cols = [Column("academy", "Academy", "text", 3.0), Column("evaluation_date", "Evaluated", "text", 1.5),
            Column("framework_version", "Version", "text", 1.2)]
    cols += [Column(f"bm{i}", f"BM{i} %", "pct") for i in range(1, 9)] + [Column("achieved", "Fully met", "count")]
    out, avg = [], defaultdict(list)
    for u in sorted(grid, key=lambda u: (str(meta[u][0]), u)):
        vals = [grid[u].get(i) for i in range(1, 9)]
        for i, v in enumerate(vals, start=1):
            if v is not None:
                avg[i].append(v)
        out.append([meta[u][0], meta[u][1], meta[u][2]] + vals + [sum(1 for v in vals if v is not None and v >= 100)])
    versions = {meta[u][2] for u in meta}
    trust_avg = {i: sum(v) / len(v) for i, v in avg.items() if v}
    out.append(["Trust average", None, "/".join(sorted(str(v) for v in versions if v)) or None]
               + [trust_avg.get(i) for i in range(1, 9)]
               + [sum(r[-1] for r in out) / len(out) if out else None])
    notes = ["Latest Compass self-evaluation of each academy up to the end of the leaving year: % of each Gatsby "
             "Benchmark's criteria achieved; 'Fully met' counts benchmarks at 100% (trust row: average per academy).",
             "Benchmarks were refreshed from September 2025 (framework 2025): scores under the 2018 and 2025 "
             "frameworks are not comparable." + (" This table mixes both frameworks." if len(versions) > 1 else ""),
             ]
    t = Table("Compass academies", f"Compass: Gatsby Benchmark % achieved by academy, {year}", cols, out, notes)
    t.row_kinds = {len(out) - 1: "number"}   # the trust row's "fully met" is an average
    return t, trust_avg


COMPASS_MEASURES = {"pct_fully_achieved": "% of academies fully achieving",
                    "mean_percent_achieved": "Mean % of criteria achieved"}


def compass_national_table(rows: list[dict], year: str) -> tuple[Table | None, dict]:
    """Trust against national Compass figures for the academic year (compass_trust_vs_national)."""
    rows = [r for r in rows if r.get("academic_year") == year]
    if not rows:
        return None, {}
    cols = [Column("framework_version", "Version", "text", 1.2), Column("measure", "Measure", "text", 3.4),
            Column("benchmark", "Benchmark", "text", 1.0), Column("academies", "Academies", "count"),
            Column("trust", "Trust", "number"), Column("national", "National", "number"),
            Column("difference", "Diff.", "pp")]
    labels = {"avg_benchmarks_fully_achieved": "Benchmarks fully achieved (average of 8)",
              "pct_all_eight_achieved": "% of academies achieving all 8", **COMPASS_MEASURES}
    out, chart = [], {}
    order = list(labels)
    for r in sorted(rows, key=lambda r: (str(r.get("framework_version")),
                                         order.index(r["measure"]) if r.get("measure") in order else 99,
                                         r.get("benchmark") or 0)):
        bm = r.get("benchmark") or 0
        tv, nv = number(r.get("trust_value")), number(r.get("national_value"))
        out.append([r.get("framework_version"), labels.get(r.get("measure"), r.get("measure")),
                    "All" if bm == 0 else f"BM{bm}", number(r.get("academies")), tv, nv,
                    (tv - nv) if tv is not None and nv is not None else None])
        if r.get("measure") == "pct_fully_achieved" and bm:
            chart.setdefault(str(r.get("framework_version")), {})[bm] = (tv, nv)
    srcs = sorted({str(r.get("national_source")) for r in rows if r.get("national_source")})
    notes = ["Each academy counts once, with its latest Compass evaluation of the academic year. National figures "
             "are CEC's published averages (2018 framework); 2025-framework rows have no national comparator "
             "because the refreshed benchmarks are not comparable."]
    notes += [f"National source: {x}" for x in srcs]
    return Table("Compass vs national", f"Compass: trust against national, {year}", cols, out, notes), chart


# ---------------------------------------------------------------- data completeness
STATUS_TEXT = {"submitted": "Submitted", "rejected_only": "Rejected only", "missing": "Missing",
               "not_due": "Not due"}
TIMELINESS_TEXT = {"on_time": "On time", "late": "Late", "overdue": "Overdue", "not_due": "Not due"}


def completeness_table(rows: list[dict], year: str, round_ids: list[str], published: bool,
                       names: dict[str, str]) -> Table | None:
    """From the return-status mart: academy x round, returned what, on time. No file paths or submitters."""
    rows = for_year(rows, year)
    if not rows:
        return None
    c_urn = col(rows, "academy_urn", "urn")
    c_round = col(rows, "round")
    c_status = col(rows, "return_status", "status", "quality_status")
    c_time = col(rows, "timeliness")
    c_on_time = col(rows, "on_time", "is_on_time", "returned_on_time")
    c_rec = col(rows, "first_accepted_at", "received_at", "submitted_at", "received_date")
    c_due = col(rows, "due_date", "due")
    c_err = col(rows, "rows_rejected", "invalid_rows", "errors")
    c_name = col(rows, "academy_name", "name")
    if not (c_urn and c_round):
        return None
    cols = [Column("academy", "Academy", "text", 3.0), Column("round", "Round", "text", 0.8),
            Column("status", "Status", "text", 1.5), Column("due", "Due", "text", 1.3),
            Column("received", "First accepted", "text", 1.3), Column("timeliness", "On time?", "text", 1.1),
            Column("invalid", "Rows excluded", "count")]
    order = {r: i for i, r in enumerate(round_ids)}
    out = []
    for r in sorted(rows, key=lambda r: (str(r.get(c_name) or names.get(r.get(c_urn), "")), str(r.get(c_urn)),
                                         order.get(r.get(c_round), 99))):
        if c_time:
            timely = TIMELINESS_TEXT.get(r.get(c_time), r.get(c_time))
        elif c_on_time and r.get(c_on_time) is not None:
            timely = "On time" if r.get(c_on_time) else "Late"
        else:
            timely = None
        status = r.get(c_status) if c_status else None
        out.append([r.get(c_name) or names.get(r.get(c_urn)) or r.get(c_urn), r.get(c_round),
                    STATUS_TEXT.get(status, status), str(r.get(c_due))[:10] if c_due and r.get(c_due) else None,
                    str(r.get(c_rec))[:10] if c_rec and r.get(c_rec) else None, timely,
                    cell(r, c_err, published)])
    return Table("Data completeness", f"Data completeness: returns by academy and round, {year}", cols, out,
                 ["From the return-status mart: the current accepted file per academy and round, the date the "
                  "first acceptable file arrived against the due date, and rows excluded as invalid (the academy "
                  "was told which rows and why). Only academies expected to return that round are listed. Pupil "
                  "numbers per return are left out: set against the destination tables they could reveal a "
                  "withheld cohort."])


def completeness_summary(t: Table) -> str:
    """One sentence: how many returns were on time, late, missing."""
    j = [c.key for c in t.columns].index("timeliness") if "timeliness" in [c.key for c in t.columns] else None
    if j is None:
        return ""
    due = [r for r in t.rows if r[j] in ("On time", "Late", "Overdue")]
    if not due:
        return "No return for this leaving year was due yet."
    on = sum(1 for r in due if r[j] == "On time")
    late = sum(1 for r in due if r[j] == "Late")
    over = sum(1 for r in due if r[j] == "Overdue")
    return (f"Of the {len(due)} returns due for this cohort, {on} arrived on time, {late} late"
            f" and {over} {'is' if over == 1 else 'are'} still outstanding.")


def completeness_from_measures(rows: list[dict], year: str, round_ids: list[str], names: dict[str, str]) -> Table:
    """Fallback: which rounds each academy returned, from destination_measures (no timeliness)."""
    have = defaultdict(set)
    for r in rows:
        if r.get("leaving_year") == year and r.get("level") == "academy" and r.get("breakdown_topic") == "Total":
            have[r.get("academy_urn")].add(r.get("round"))
    cols = [Column("academy", "Academy", "text", 3.0), Column("academy_urn", "URN", "text", 1.0)]
    cols += [Column(rid, f"{rid} returned", "text", 1.0) for rid in round_ids]
    out = [[names.get(u, u), u] + ["Yes" if rid in have[u] else "No" for rid in round_ids]
           for u in sorted(have, key=lambda u: (names.get(u, ""), str(u)))]
    return Table("Data completeness", f"Data completeness: rounds returned by academy, {year}", cols, out,
                 ["Whether each academy's return for the round is in the warehouse. Timeliness (on time or "
                  "late against the due date) is not available for this year: the return-status mart is not "
                  "in the serving snapshot."])
