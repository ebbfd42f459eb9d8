"""Sections, tables and headline sentences of the trustee pack, from the published marts.

Pure formatting: every number is one published cell (destination_measures, neet_not_known,
destination_gaps, benchmark_national_comparison, neet_la_comparator as directors read them);
a cell the publisher withheld is `c`, one with no figure `z`. Nothing is recomputed or
suppressed here; the NEET rate is always neet_not_known's (custody out of the denominator)."""
from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.lib import serving_contract as contract
from pipelines.lib.report.model import NOT_AVAILABLE, SUPPRESSED, Column, Finding, Table, pct_text

KS_LEAVERS = {"KS4": "Year 11 leavers", "16-18": "leavers from 16-18 study (Year 13)"}
KS_SHORT = {"KS4": "KS4", "16-18": "16-18"}

DEST_COLUMNS = [  # (mart column, label, kind, width)
    ("cohort", "Leavers", "count", 1.35),
    ("positive_pct", "EET %", "pct", 1.0),
    ("education_pct", "Educ. %", "pct", 1.0),
    ("apprenticeship_pct", "Appr. %", "pct", 1.0),
    ("employment_pct", "Empl. %", "pct", 1.0),
    ("training_pct", "Train. %", "pct", 1.0),
    ("other_pct", "Other %", "pct", 1.0),
]
NEET_COLUMNS = [("neet_pct", "NEET %", "pct", 1.0), ("not_known_pct", "NK %", "pct", 1.0)]
APPENDIX_BREAKDOWNS = [
    ("Total", "Total"), ("Disadvantage", "Disadvantaged"), ("Disadvantage", "Not disadvantaged"),
    ("SEN provision", "No SEN"), ("SEN provision", "SEN support"), ("SEN provision", "EHC plan"),
    ("Sex", "Female"), ("Sex", "Male"),
]


def rule_text() -> str:
    return ("c = withheld to protect pupils (a small group or count, or a figure that would let a withheld one "
            "be worked out from others in this pack); z = no leavers in the group, or not applicable; "
            "- = no figure published.")


def v(row: dict | None, col: str):
    """One published cell: the number, `c` or `z`; `-` when there is no such row."""
    if row is None:
        return NOT_AVAILABLE
    return contract.state(row, col) or float(row[col])


def num(x) -> float | None:
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) else None


@dataclass
class Figures:
    """The published rows of one leaving year and actual round, indexed for the pack."""
    year: str
    round: str
    dm: dict = field(default_factory=dict)        # (level, urn, ks, topic, breakdown) -> row
    nn: dict = field(default_factory=dict)
    nat: dict = field(default_factory=dict)       # (level, urn, ks, topic, breakdown, measure) -> row
    gaps: dict = field(default_factory=dict)      # (level, urn, ks, gap, measure) -> row
    la: dict = field(default_factory=dict)        # ks -> neet_la_comparator row
    order: dict = field(default_factory=dict)     # (topic, breakdown) -> sort key
    academy_names: dict = field(default_factory=dict)
    trend_dm: list = field(default_factory=list)  # trust Total rows, actual rounds, every year
    trend_nn: list = field(default_factory=list)
    trend_la: list = field(default_factory=list)

    def row(self, level, urn, ks, topic="Total", breakdown="Total") -> dict | None:
        return self.dm.get((level, urn, ks, topic, breakdown))

    def neet(self, level, urn, ks, topic="Total", breakdown="Total") -> dict | None:
        return self.nn.get((level, urn, ks, topic, breakdown))

    def national(self, ks, topic, breakdown, measure="positive_pct") -> dict | None:
        return self.nat.get(("trust", None, ks, topic, breakdown, measure))

    def key_stages(self) -> list[str]:
        ks = {k[2] for k in self.dm}
        return [k for k in ("KS4", "16-18") if k in ks] + sorted(ks - {"KS4", "16-18"})

    def academies(self, ks: str | None = None) -> list[str]:
        urns = {k[1] for k in self.dm if k[0] == "academy" and (ks is None or k[2] == ks)}
        return sorted(urns, key=lambda u: (self.academy_names.get(u, ""), u))

    def breakdowns(self) -> list[tuple[str, str]]:
        return sorted(self.order, key=lambda tb: self.order[tb])


def figure_rows(year: str, rnd: str) -> dict:
    """Per mart load_figures reads, the pyarrow filter keeping exactly the rows it uses (the rest of
    the marts, tens of thousands of rows, never become Python rows): the trend rows and the rows
    of the year and round."""
    import pyarrow.compute as pc
    f = pc.field
    this = (f("leaving_year") == year) & (f("round") == rnd)
    trust_total = (f("level") == "trust") & (f("breakdown_topic") == "Total")
    return {"destination_measures": ((f("round_kind") == "actual") & trust_total) | this,
            "neet_not_known": trust_total | this,
            "benchmark_national_comparison": this, "destination_gaps": this}


def load_figures(year: str, rnd: str, dm: list[dict], nn: list[dict], nat: list[dict], gaps: list[dict],
                 la: list[dict], names: list[dict] | None = None) -> Figures:
    """The figures of the pack. `names`: the (academy_urn, academy_name) of every destination_measures
    row in file order when `dm` holds only the rows read here (figure_rows); else taken from `dm`."""
    f = Figures(year, rnd)
    for r in (dm if names is None else names):
        if r.get("academy_urn") and r.get("academy_name"):
            f.academy_names[r["academy_urn"]] = str(r["academy_name"])
    for r in dm:
        if r.get("round_kind") == "actual" and r.get("level") == "trust" and r.get("breakdown_topic") == "Total":
            f.trend_dm.append(r)
        if r.get("leaving_year") != year or r.get("round") != rnd:
            continue
        f.dm[(r["level"], r.get("academy_urn"), r["key_stage"], r["breakdown_topic"], r["breakdown"])] = r
        to, bo = r.get("topic_order"), r.get("breakdown_order")
        f.order[(r["breakdown_topic"], r["breakdown"])] = (99 if to is None else to, 99 if bo is None else bo,
                                                          r["breakdown_topic"], r["breakdown"])
    for r in nn:
        if r.get("level") == "trust" and r.get("breakdown_topic") == "Total":
            f.trend_nn.append(r)
        if r.get("leaving_year") == year and r.get("round") == rnd:
            f.nn[(r["level"], r.get("academy_urn"), r["key_stage"], r["breakdown_topic"], r["breakdown"])] = r
    for r in nat:
        if r.get("leaving_year") == year and r.get("round") == rnd:
            f.nat[(r["level"], r.get("academy_urn"), r["key_stage"], r["breakdown_topic"], r["breakdown"],
                   r["measure"])] = r
    for r in gaps:
        if r.get("leaving_year") == year and r.get("round") == rnd:
            f.gaps[(r["level"], r.get("academy_urn"), r["key_stage"], r["gap"], r["measure"])] = r
    for r in la:
        f.trend_la.append(r)
        if r.get("leaving_year") == year and r.get("round") == rnd:
            f.la[r["key_stage"]] = r
    return f


def diff_cell(row: dict | None, col: str = "difference_pp", base: str = "trust_value"):
    """A published difference, `c` when its trust figure is withheld."""
    if row is None:
        return NOT_AVAILABLE
    if contract.state(row, base) == SUPPRESSED:
        return SUPPRESSED
    return v(row, col)


# ---------------------------------------------------------------- destinations by sub-group
def subgroup_table(figs: Figures, ks: str) -> tuple[Table, list[dict]]:
    cols = [Column("breakdown_topic", "Sub-group type", "text", 2.0), Column("breakdown", "Sub-group", "text", 2.9)]
    cols += [Column(m, label, kind, w) for m, label, kind, w in DEST_COLUMNS + NEET_COLUMNS]
    cols += [Column("national_value", "Nat. EET %", "pct"), Column("difference_pp", "Diff. pp", "pp")]
    rows, used = [], []
    for topic, breakdown in figs.breakdowns():
        r = figs.row("trust", None, ks, topic, breakdown)
        if r is None:
            continue
        n = figs.neet("trust", None, ks, topic, breakdown)
        nat = figs.national(ks, topic, breakdown)
        if nat is not None and not contract.is_missing(nat.get("national_value")):
            used.append(nat)
        rows.append([topic, breakdown] + [v(r, m) for m, *_ in DEST_COLUMNS] + [v(n, m) for m, *_ in NEET_COLUMNS]
                    + [v(nat, "national_value") if nat else NOT_AVAILABLE, diff_cell(nat)])
    notes = [f"Trust {KS_LEAVERS[ks]} in {figs.year}, actual destinations ({figs.round}, autumn after leaving). "
             "EET = education, apprenticeship, employment or training (DfE 'overall'). Percentages are of the "
             "leavers in the sub-group; NEET % and NK % are of the leavers excluding custody (codes 710/720), as "
             "NCCIS counts them. Other = gap year and re-engagement. Nat. EET % = the national figure for the same "
             "group; Diff. pp = trust minus national in percentage points.",
             national_note(used), rule_text()]
    t = Table(f"Destinations {KS_SHORT[ks]}", f"Destinations of {KS_LEAVERS[ks]} by sub-group, trust, {figs.year}",
              cols, rows, [n for n in notes if n], group_column=0)
    return t, used


def national_note(used: list[dict]) -> str:
    if not used:
        return "National comparison: no published national figure is loaded for these sub-groups."
    periods = sorted({contract.benchmark_period(r.get("benchmark_leaving_year"), r.get("benchmark_publication"))
                      for r in used})
    return (f"National EET %: DfE sustained destination measure ({'; '.join(periods)}). It counts activity "
            "sustained over the first two terms after leaving, so it is not the same measure as the trust's "
            "autumn snapshot. Contains public sector information licensed under the Open Government Licence v3.0.")


# ---------------------------------------------------------------- NEET and not known
def neet_tables(figs: Figures) -> list[Table]:
    """By academy (and the trust, against its LAs and England), then by sub-group, per key stage."""
    tables = []
    for ks in figs.key_stages():
        cols = [Column("academy", "Academy", "text", 4.4), Column("neet_denominator", "Leavers*", "count", 1.1),
                Column("neet_pct", "NEET %", "pct"), Column("not_known_pct", "Not known %", "pct"),
                Column("neet_not_known_pct", "NEET or NK %", "pct"), Column("la", "LA comparator", "text", 4.2),
                Column("la_neet_pct", "LA NEET %", "pct"),
                Column("england_neet_pct", "England NEET %", "pct", 1.2)]
        rows = []
        for urn in figs.academies(ks) + [None]:
            level = "academy" if urn else "trust"
            n = figs.neet(level, urn, ks)
            if n is None:
                continue
            name = figs.academy_names.get(urn, urn) if urn else "Trust"
            if urn:
                la_name, la_val = n.get("la_name") or NOT_AVAILABLE, v(n, "la_neet_pct")
            else:
                la = figs.la.get(ks)
                la_name = la["comparator_label"] if la else NOT_AVAILABLE
                la_val = v(la, "la_neet_pct") if la else NOT_AVAILABLE
            rows.append([name] + [v(n, m) for m in ("neet_denominator", "neet_pct", "not_known_pct",
                                                     "neet_not_known_pct")]
                        + [la_name, la_val, v(n, "england_neet_pct")])
        trust_n = figs.neet("trust", None, ks)
        eng_year = trust_n.get("england_comparator_leaving_year") if trust_n else None
        la = figs.la.get(ks)
        tables.append(Table(
            f"NEET by academy {KS_SHORT[ks]}", f"NEET and not known, {KS_LEAVERS[ks]}, by academy, {figs.year}",
            cols, rows,
            [f"Actual destinations ({figs.round}). *Leavers excluding custody (codes 710/720), the NCCIS "
             "denominator; NEET = codes 540 and 610-680, not known = 810-830.",
             "LA comparator: each academy's own local authority; for the trust, "
             + (f"{la['comparator_label']} ({la['la_names']})" if la else "no LA figure loaded")
             + ", averaged with the number of leavers from each academy as weights. LA and England: NCCIS "
             f"16-17 year olds, {contract.benchmark_period(eng_year)} (the latest published up to this year).",
             rule_text()]))
        cols = [Column("breakdown_topic", "Sub-group type", "text", 2.0), Column("breakdown", "Sub-group", "text", 2.9),
                Column("neet_denominator", "Leavers*", "count", 1.35), Column("neet_pct", "NEET %", "pct"),
                Column("not_known_pct", "Not known %", "pct"), Column("neet_not_known_pct", "NEET or NK %", "pct")]
        rows = []
        for topic, breakdown in figs.breakdowns():
            n = figs.neet("trust", None, ks, topic, breakdown)
            if n is not None:
                rows.append([topic, breakdown] + [v(n, m) for m in ("neet_denominator", "neet_pct", "not_known_pct",
                                                                     "neet_not_known_pct")])
        tables.append(Table(f"NEET by sub-group {KS_SHORT[ks]}",
                            f"NEET and not known, {KS_LEAVERS[ks]}, by sub-group, trust, {figs.year}",
                            cols, rows, [f"Actual destinations ({figs.round}). *Leavers excluding custody.",
                                         rule_text()], group_column=0))
    return tables


# ---------------------------------------------------------------- gaps
GAP_MEASURES = [(m, contract.measure_labels(short=True)[m]) for m in ("positive", "education", "apprenticeship",
                                                                     "neet")]
GAPS = ["Disadvantaged vs not disadvantaged", "SEN support vs no SEN", "EHC plan vs no SEN"]


def gap_table(figs: Figures) -> Table:
    cols = [Column("key_stage", "Key stage", "text", 1.0), Column("gap", "Group vs comparison", "text", 3.2),
            Column("measure", "Measure", "text", 1.3), Column("group_pct", "Group %", "pct"),
            Column("comparison_pct", "Comp. %", "pct"), Column("gap_pp", "Trust gap (pp)", "pp"),
            Column("national_gap_pp", "National gap (pp)", "pp"), Column("national_year", "National year", "text", 1.3)]
    rows = []
    for ks in figs.key_stages():
        for gap in GAPS:
            for m, label in GAP_MEASURES:
                r = figs.gaps.get(("trust", None, ks, gap, m))
                if r is None:
                    continue
                ng, ny = contract.national_gap(r)
                rows.append([KS_SHORT[ks], gap, label, v(r, "group_pct"), v(r, "comparison_pct"), v(r, "gap_pp"),
                             ng, ny])
    notes = [f"Gap = group % minus comparison % in percentage points (pp), trust leavers {figs.year}, "
             f"{figs.round}. A negative EET gap means the group did less well; for NEET a positive gap does.",
             "National gap: the same two groups in DfE's sustained destination measures for the same leaving year "
             "where published, else the newest published year (shown); '-' where DfE publishes no comparable "
             "figure. Contains public sector information licensed under the Open Government Licence v3.0.",
             rule_text()]
    return Table("Gaps", f"Disadvantage and SEND gaps, trust, {figs.year}", cols, rows, notes, group_column=0)


# ---------------------------------------------------------------- per-academy appendix
def appendix_tables(figs: Figures) -> list[tuple[str, str, Table]]:
    out = []
    cols = [Column("key_stage", "Key stage", "text", 0.9), Column("breakdown", "Sub-group", "text", 2.2)]
    cols += [Column(m, label, kind, w) for m, label, kind, w in DEST_COLUMNS + NEET_COLUMNS]
    for urn in figs.academies():
        rows = []
        for ks in figs.key_stages():
            for topic, breakdown in APPENDIX_BREAKDOWNS:
                r = figs.row("academy", urn, ks, topic, breakdown)
                if r is not None:
                    n = figs.neet("academy", urn, ks, topic, breakdown)
                    rows.append([KS_SHORT[ks], breakdown] + [v(r, m) for m, *_ in DEST_COLUMNS]
                                + [v(n, m) for m, *_ in NEET_COLUMNS])
        name = figs.academy_names.get(urn, urn)
        out.append((urn, name, Table(f"Academy {urn}", f"{name} (URN {urn}): destinations {figs.year}",
                                     cols, rows, [rule_text()], group_column=0)))
    return out


def appendix_sheet(figs: Figures) -> Table:
    """Every academy's appendix rows in one sheet."""
    cols = [Column("academy_urn", "URN", "text"), Column("academy", "Academy", "text", 3.0)]
    rows, first = [], None
    for urn, name, t in appendix_tables(figs):
        first = first or t
        rows += [[urn, name] + r for r in t.rows]
    if first is None:
        return Table("Academy appendix", f"Destinations by academy, {figs.year}", cols, [], [rule_text()])
    return Table("Academy appendix", f"Destinations by academy and sub-group, {figs.year} ({figs.round})",
                 cols + first.columns, rows, [rule_text()])


# ---------------------------------------------------------------- trend (five years)
def trend_table(figs: Figures) -> Table:
    """Trust, actual destinations, the last five leaving years: EET and NEET against England and the LAs."""
    cols = [Column("key_stage", "Key stage", "text", 1.0), Column("leaving_year", "Leaving year", "text", 1.2),
            Column("cohort", "Leavers", "count"), Column("positive_pct", "EET %", "pct"),
            Column("neet_pct", "NEET %", "pct"), Column("la_neet_pct", "LA NEET %", "pct"),
            Column("england_neet_pct", "England NEET %", "pct")]
    rows = []
    upto = figs.year
    for ks in figs.key_stages():
        years = sorted({r["leaving_year"] for r in figs.trend_dm if r["key_stage"] == ks
                        and r["leaving_year"] <= upto})[-5:]
        for y in years:
            d = next((r for r in figs.trend_dm if r["key_stage"] == ks and r["leaving_year"] == y), None)
            n = next((r for r in figs.trend_nn if r["key_stage"] == ks and r["leaving_year"] == y), None)
            la = next((r for r in figs.trend_la if r["key_stage"] == ks and r["leaving_year"] == y), None)
            rows.append([KS_SHORT[ks], y, v(d, "cohort"), v(d, "positive_pct"), v(n, "neet_pct"),
                         v(la, "la_neet_pct") if la else NOT_AVAILABLE, v(n, "england_neet_pct")])
    return Table("Trend", f"Five-year trend, trust, actual destinations to {figs.year}", cols, rows,
                 ["Actual destinations in the autumn after leaving, each leaving year. NEET % excludes custody "
                  "from the denominator. LA NEET %: the trust's local authorities, pupil-weighted; England: NCCIS "
                  "16-17 year olds, the latest period up to each leaving year.", rule_text()], group_column=0)


# ---------------------------------------------------------------- headline findings
def findings(figs: Figures, goals: list[dict] | None = None) -> list[Finding]:
    """Up to five plain sentences, each from figures shown in the pack (never a withheld one)."""
    out: list[Finding] = []
    y = figs.year
    for ks in figs.key_stages():
        who = KS_LEAVERS[ks]
        tot = figs.row("trust", None, ks)
        p, n = num(v(tot, "positive_pct")), num(v(tot, "cohort"))
        if p is not None and n:
            nat = figs.national(ks, "Total", "Total")
            natv = num(v(nat, "national_value")) if nat else None
            s = (f"{pct_text(p)}% of the trust's {int(n):,} {who} in {y} went into education, employment or "
                 f"training (autumn after leaving)")
            s += (f", against {pct_text(natv)}% of all pupils nationally "
                  f"({contract.benchmark_period(nat.get('benchmark_leaving_year'))}, DfE sustained measure)."
                  if natv is not None else ".")
            out.append(Finding(s, {"key_stage": ks, "measure": "positive_pct", "trust": p, "cohort": n,
                                   "national": natv}))
        g = figs.gaps.get(("trust", None, ks, GAPS[0], "positive"))
        gp = num(v(g, "gap_pp")) if g else None
        if gp is not None:
            ng, ny = contract.national_gap(g)
            word = "less" if gp < 0 else "more"
            s = (f"Disadvantaged {who} were {pct_text(abs(gp), 1)} percentage points {word} likely than other "
                 f"leavers to be in education, employment or training")
            s += (f"; the national gap was {pct_text(abs(ng), 1)} points ({contract.benchmark_period(ny)})."
                  if ng is not None else ".")
            out.append(Finding(s, {"key_stage": ks, "measure": "disadvantage_gap_pp", "trust": gp, "national": ng}))
        nrow = figs.neet("trust", None, ks)
        neet = num(v(nrow, "neet_pct"))
        if neet is not None:
            la = figs.la.get(ks)
            lav = num(v(la, "la_neet_pct")) if la else None
            eng = num(v(nrow, "england_neet_pct"))
            s = f"{pct_text(neet, 1)}% of {who} were NEET in the autumn after leaving"
            parts = []
            if lav is not None:
                parts.append(f"{pct_text(lav, 1)}% across the trust's local authorities")
            if eng is not None:
                parts.append(f"{pct_text(eng, 1)}% in England "
                             f"({contract.benchmark_period(nrow.get('england_comparator_leaving_year'))})")
            s += ("; " + " and ".join(parts) + " (NCCIS 16-17 year olds)." if parts else ".")
            out.append(Finding(s, {"key_stage": ks, "measure": "neet_pct", "trust": neet, "la": lav,
                                   "national": eng}))
    if goals:
        met = [g for g in goals if g.get("on_track") is True]
        hidden = [g for g in goals if g.get("share") == SUPPRESSED]
        out.append(Finding(f"{len(met)} of the trust's {len(goals)} stereotype-countering goals were met "
                           f"against their targets in {y}"
                           + (f" ({len(hidden)} withheld to protect pupils)." if hidden else "."),
                           {"measure": "goals_on_track", "on_track": len(met), "goals": len(goals)}))
    order = ["positive_pct", "disadvantage_gap_pp", "neet_pct", "goals_on_track"]
    ks4 = [f for f in out if f.figures.get("key_stage") in ("KS4", None)]
    rest = [f for f in out if f not in ks4]
    ks4.sort(key=lambda f: order.index(f.figures["measure"]))
    return (ks4 + rest)[:5]


def key_figures(figs: Figures) -> Table:
    """Page-one table: the trust's headline figures per key stage beside England and its LAs."""
    cols = [Column("key_stage", "Leavers", "text", 2.4), Column("cohort", "Number", "count"),
            Column("positive_pct", "EET %", "pct"), Column("national_value", "England EET %", "pct", 1.4),
            Column("neet_pct", "NEET %", "pct"), Column("la_neet_pct", "LA NEET %", "pct"),
            Column("england_neet_pct", "England NEET %", "pct", 1.5)]
    rows, periods = [], set()
    for ks in figs.key_stages():
        r = figs.row("trust", None, ks)
        if r is None:
            continue
        nat = figs.national(ks, "Total", "Total")
        n = figs.neet("trust", None, ks)
        la = figs.la.get(ks)
        if nat:
            periods.add(contract.benchmark_period(nat.get("benchmark_leaving_year")))
        rows.append([KS_LEAVERS[ks][0].upper() + KS_LEAVERS[ks][1:], v(r, "cohort"), v(r, "positive_pct"),
                     v(nat, "national_value") if nat else NOT_AVAILABLE, v(n, "neet_pct"),
                     v(la, "la_neet_pct") if la else NOT_AVAILABLE, v(n, "england_neet_pct")])
    return Table("Key figures", f"Key figures, trust, {figs.year}", cols, rows,
                 ["Trust: actual destinations in the autumn after leaving. England EET %: DfE sustained destination "
                  f"measure ({', '.join(sorted(periods)) or 'none loaded'}). NEET %: leavers excluding custody; "
                  "LA NEET %: the trust's local authorities weighted by leavers; England NEET %: NCCIS 16-17 year "
                  "olds. Different measures and years: see Methods and caveats.", rule_text()])
