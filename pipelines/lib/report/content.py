"""Sections, tables and headline sentences of the trustee pack, from the marts. Pure logic."""
from __future__ import annotations

from pipelines.lib.report.benchmarks import Benchmark, Benchmarks
from pipelines.lib.report.disclosure import DestinationFigures, Fig
from pipelines.lib.report.model import (NO_PUPILS, NOT_AVAILABLE, SUPPRESSED, Column, Finding, Section, Table,
                                        pct_text, round_half_up)
from pipelines.lib.report.serving import thresholds

KS_LEAVERS = {"KS4": "Year 11 leavers", "16-18": "leavers from 16-18 study (Year 13)"}
KS_SHORT = {"KS4": "KS4", "16-18": "16-18"}

DEST_COLUMNS = [
    ("cohort", "Leavers", "count", 1.35),
    ("positive", "EET %", "pct"),
    ("education", "Educ. %", "pct"),
    ("apprenticeship", "Appr. %", "pct"),
    ("employment", "Empl. %", "pct"),
    ("training", "Train. %", "pct"),
    ("neet", "NEET %", "pct"),
    ("not_known", "NK %", "pct"),
    ("other_all", "Other %", "pct"),
]
APPENDIX_BREAKDOWNS = [
    ("Total", "Total"), ("Disadvantage", "Disadvantaged"), ("Disadvantage", "Not disadvantaged"),
    ("SEN provision", "No SEN"), ("SEN provision", "SEN support"), ("SEN provision", "EHC plan"),
    ("Sex", "Female"), ("Sex", "Male"),
]


def rule_text() -> str:
    cohort, count = thresholds()
    return (f"c = withheld to protect pupils: any group of fewer than {cohort} leavers, any count of 1 to "
            f"{count - 1} (or all but 1 to {count - 1} of a group), and further cells chosen so that a withheld "
            "figure cannot be worked out from totals, other sub-groups or other academies shown in this pack. "
            "z = no leavers in the group; - = no figure available.")


def value(fig: Fig | None, measure: str):
    """Display value of one figure: the count for cohort, else the percentage of the cohort."""
    if fig is None:
        return NOT_AVAILABLE
    if fig.suppressed:
        return SUPPRESSED
    if fig.count == 0 and fig.pct is None:
        return NO_PUPILS
    if measure == "cohort":
        return fig.count
    return fig.pct


def diff(a, b):
    if a == SUPPRESSED:
        return SUPPRESSED
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return None
    return a - b


# ---------------------------------------------------------------- destinations by sub-group
def subgroup_table(figs: DestinationFigures, bench: Benchmarks, ks: str) -> tuple[Table, dict]:
    cols = [Column("breakdown_topic", "Sub-group type", "text", 2.0), Column("breakdown", "Sub-group", "text", 2.9)]
    cols += [Column(m, label, kind, *w) for m, label, kind, *w in DEST_COLUMNS]
    cols += [Column("national_positive_pct", "Nat. EET %", "pct"), Column("difference_pp", "Diff. pp", "pp")]
    rows, used = [], {}
    for topic, breakdown in figs.breakdowns():
        r = figs.row("trust", None, ks, topic, breakdown)
        if r is None:
            continue
        vals = [value(r.get(m), m) for m, *_ in DEST_COLUMNS]
        nat = bench.destination(ks, topic, breakdown, "positive_pct", figs.year)
        if nat:
            used[(topic, breakdown)] = nat
        natv = nat.value if nat else None
        rows.append([topic, breakdown] + vals + [natv, diff(vals[1], natv)])
    notes = [f"Trust {KS_LEAVERS[ks]} in {figs.year}, actual destinations ({figs.round}, autumn after leaving). "
             "EET = education, apprenticeship, employment or training (DfE 'overall'). Percentages are of the "
             "leavers in the sub-group. Educ. = education, Appr. = apprenticeship, Empl. = employment, Train. = "
             "training, NK = not known, Other = gap year, re-engagement and custody; Nat. EET % = national "
             "figure for the same group; Diff. pp = trust minus national in percentage points.",
             national_note(used), rule_text()]
    t = Table(f"Destinations {KS_SHORT[ks]}", f"Destinations of {KS_LEAVERS[ks]} by sub-group, trust, {figs.year}",
              cols, rows, [n for n in notes if n], group_column=0)
    return t, used


def national_note(used: dict[tuple, Benchmark]) -> str:
    if not used:
        return "National comparison: no published national figure is loaded for these sub-groups."
    b = used.get(("Total", "Total")) or next(iter(used.values()))
    years = sorted({x.when for x in used.values()})
    inst = b.institution_group or "all"
    return (f"National EET %: DfE sustained destination measure ({', '.join(years)}; state-funded "
            f"{inst} schools; source {b.source}{', ' + b.publication if b.publication else ''}). It counts "
            "activity sustained over the first two terms after leaving, so it is not the same measure as "
            "the trust's autumn snapshot. Contains public sector information licensed under the Open "
            "Government Licence v3.0.")


# ---------------------------------------------------------------- NEET and not known
def neet_tables(figs: DestinationFigures, bench: Benchmarks, extra: dict | None = None) -> list[Table]:
    """By academy (and the trust), then by sub-group, per key stage."""
    extra = extra or {}
    tables = []
    nat = {m: bench.neet(m, figs.year) for m in ("neet_pct", "not_known_pct", "neet_not_known_pct")}
    nat_note = ("England 16-17 year olds (NCCIS, average of December to February, "
                f"{(nat['neet_not_known_pct'] or nat['neet_pct']).period}): NEET "
                f"{display_num(nat['neet_pct'])}%, not known {display_num(nat['not_known_pct'])}%, "
                f"NEET or not known {display_num(nat['neet_not_known_pct'])}%. NCCIS counts every 16-17 year old "
                "living in an area across two year groups; the trust counts its own leavers once, in the autumn "
                "after leaving. Contains public sector information licensed under the Open Government Licence v3.0."
                ) if (nat["neet_not_known_pct"] or nat["neet_pct"]) else \
        "National NEET comparison: no NCCIS figure is loaded for this year."
    for ks in figs.key_stages():
        cols = [Column("academy", "Academy", "text", 3.0), Column("cohort", "Leavers", "count", 1.35),
                Column("neet", "NEET %", "pct"), Column("not_known", "Not known %", "pct"),
                Column("neet_nk", "NEET or NK %", "pct"), Column("la", "Local authority", "text", 2.0),
                Column("la_neet_nk", "LA NEET or NK %", "pct"),
                Column("vs_national_pp", "vs England (pp)", "pp")]
        rows = []
        natv = nat["neet_not_known_pct"].value if nat["neet_not_known_pct"] else None
        for urn in figs.academies(ks) + [None]:
            level = "academy" if urn else "trust"
            r = figs.row(level, urn, ks, "Total", "Total")
            if r is None:
                continue
            name = figs.academy_names.get(urn, urn) if urn else "Trust"
            v = [value(r.get(m), m) for m in ("cohort", "neet", "not_known")] + [value(figs.neet_nk(r), "neet_nk")]
            la = extra.get((urn, ks)) or (None, None, None)
            rows.append([name] + v + [la[0], la[1], diff(v[3], natv)])
        if natv is not None:
            rows.append(["England (NCCIS 16-17)", None, nat["neet_pct"].value if nat["neet_pct"] else None,
                         nat["not_known_pct"].value if nat["not_known_pct"] else None, natv, None, None, None])
        tables.append(Table(f"NEET by academy {KS_SHORT[ks]}",
                            f"NEET and not known, {KS_LEAVERS[ks]}, by academy, {figs.year}", cols, rows,
                            [f"Actual destinations ({figs.round}). NEET = codes 540-680; not known = 810-830; "
                             "share of all leavers returned (custody codes 710/720 stay in the denominator).",
                             "LA NEET or NK %: 16-17 year olds NEET or not known in the academy's local authority "
                             "(NCCIS, newest published year up to the leaving year), where a figure is loaded.",
                             nat_note, rule_text()]))
        cols = [Column("breakdown_topic", "Sub-group type", "text", 2.0), Column("breakdown", "Sub-group", "text", 2.9),
                Column("cohort", "Leavers", "count", 1.35), Column("neet", "NEET %", "pct"),
                Column("not_known", "Not known %", "pct"), Column("neet_nk", "NEET or NK %", "pct")]
        rows = []
        for topic, breakdown in figs.breakdowns():
            r = figs.row("trust", None, ks, topic, breakdown)
            if r is not None:
                rows.append([topic, breakdown] + [value(r.get(m), m) for m in ("cohort", "neet", "not_known")]
                            + [value(figs.neet_nk(r), "neet_nk")])
        tables.append(Table(f"NEET by sub-group {KS_SHORT[ks]}",
                            f"NEET and not known, {KS_LEAVERS[ks]}, by sub-group, trust, {figs.year}",
                            cols, rows, [f"Actual destinations ({figs.round}).", rule_text()], group_column=0))
    return tables


def display_num(b: Benchmark | None) -> str:
    return NOT_AVAILABLE if b is None else f"{round_half_up(b.value, 1):.1f}"


# ---------------------------------------------------------------- gaps
GAP_MEASURES = [("positive", "positive_pct", "EET"), ("education", "education_pct", "Education"),
                ("apprenticeship", "apprenticeship_pct", "Apprenticeship"), ("neet", None, "NEET")]
GAP_PAIRS = [("Disadvantage", "Disadvantaged", "Not disadvantaged"),
             ("SEN provision", "SEN support", "No SEN"),
             ("SEN provision", "EHC plan", "No SEN")]


def gap_table(figs: DestinationFigures, bench: Benchmarks) -> Table:
    cols = [Column("key_stage", "Key stage", "text", 1.0), Column("comparison", "Group vs comparison", "text", 3.0),
            Column("measure", "Measure", "text", 1.3), Column("group_pct", "Group %", "pct"),
            Column("comparison_pct", "Comp. %", "pct"), Column("gap_pp", "Trust gap (pp)", "pp"),
            Column("national_gap_pp", "National gap (pp)", "pp"), Column("national_year", "National year", "text", 1.3)]
    rows, used = [], set()
    for ks in figs.key_stages():
        for topic, group, comp in GAP_PAIRS:
            g = figs.row("trust", None, ks, topic, group)
            c = figs.row("trust", None, ks, topic, comp)
            if g is None or c is None:
                continue
            for m, bm, label in GAP_MEASURES:
                gv, cv = value(g.get(m), m), value(c.get(m), m)
                gap = SUPPRESSED if SUPPRESSED in (gv, cv) else diff(gv, cv)
                ng, year = None, None
                if bm:
                    bg = bench.destination(ks, topic, group, bm, figs.year)
                    bc = bench.destination(ks, topic, comp, bm, figs.year)
                    if bg and bc and bg.leaving_year == bc.leaving_year:
                        ng, year = bg.value - bc.value, bg.when
                        used.add(bg.source)
                rows.append([KS_SHORT[ks], f"{group} vs {comp}", label, gv, cv, gap, ng, year])
    notes = [f"Gap = group % minus comparison % in percentage points (pp), trust leavers {figs.year}, "
             f"{figs.round}. A negative EET gap means the group did less well; for NEET a positive gap does.",
             "National gap: the same two groups in DfE's sustained destination measures for the newest "
             "published leaving year (two terms sustained, not the trust's autumn snapshot); '-' where DfE "
             "publishes no comparable figure. Contains public sector information licensed under the Open "
             "Government Licence v3.0.", rule_text()]
    return Table("Gaps", f"Disadvantage and SEND gaps, trust, {figs.year}", cols, rows, notes, group_column=0)


# ---------------------------------------------------------------- per-academy appendix
def appendix_tables(figs: DestinationFigures) -> list[tuple[str, str, Table]]:
    out = []
    cols = [Column("key_stage", "Key stage", "text", 0.9), Column("breakdown", "Sub-group", "text", 2.2)]
    cols += [Column(m, label, kind, *w) for m, label, kind, *w in DEST_COLUMNS]
    for urn in figs.academies():
        rows = []
        for ks in figs.key_stages():
            for topic, breakdown in APPENDIX_BREAKDOWNS:
                r = figs.row("academy", urn, ks, topic, breakdown)
                if r is not None:
                    rows.append([KS_SHORT[ks], breakdown] + [value(r.get(m), m) for m, *_ in DEST_COLUMNS])
        name = figs.academy_names.get(urn, urn)
        out.append((urn, name, Table(f"Academy {urn}", f"{name} (URN {urn}): destinations {figs.year}",
                                     cols, rows, [rule_text()], group_column=0)))
    return out


def appendix_sheet(figs: DestinationFigures) -> Table:
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


# ---------------------------------------------------------------- headline findings
def _pct(fig: Fig | None) -> float | None:
    return None if fig is None or fig.suppressed or fig.pct is None else fig.pct


def findings(figs: DestinationFigures, bench: Benchmarks, goals: list[dict] | None = None) -> list[Finding]:
    """Up to five plain sentences, each from figures shown in the pack (never a withheld one)."""
    out: list[Finding] = []
    y = figs.year
    for ks in figs.key_stages():
        who = KS_LEAVERS[ks]
        tot = figs.row("trust", None, ks, "Total", "Total") or {}
        p, n = _pct(tot.get("positive")), tot.get("cohort")
        if p is not None and n and not n.suppressed:
            nat = bench.destination(ks, "Total", "Total", "positive_pct", y)
            s = (f"{pct_text(p)}% of the trust's {n.count:,} {who} in {y} went into education, employment or "
                 f"training (autumn after leaving)")
            s += (f", against {pct_text(nat.value)}% of all pupils nationally ({nat.when}, DfE sustained measure)."
                  if nat else ".")
            out.append(Finding(s, {"key_stage": ks, "measure": "positive_pct", "trust": p, "cohort": n.count,
                                   "national": nat.value if nat else None}))
        d = figs.row("trust", None, ks, "Disadvantage", "Disadvantaged") or {}
        nd = figs.row("trust", None, ks, "Disadvantage", "Not disadvantaged") or {}
        dp, ndp = _pct(d.get("positive")), _pct(nd.get("positive"))
        if dp is not None:
            nat = bench.destination(ks, "Disadvantage", "Disadvantaged", "positive_pct", y)
            s = f"{pct_text(dp)}% of disadvantaged {who} went into education, employment or training"
            s += (f", against {pct_text(nat.value)}% of disadvantaged pupils nationally ({nat.when})." if nat else ".")
            out.append(Finding(s, {"key_stage": ks, "measure": "disadvantaged_positive_pct", "trust": dp,
                                   "national": nat.value if nat else None}))
        if dp is not None and ndp is not None:
            gap = ndp - dp
            natd = bench.destination(ks, "Disadvantage", "Disadvantaged", "positive_pct", y)
            natn = bench.destination(ks, "Disadvantage", "Not disadvantaged", "positive_pct", y)
            ng = natn.value - natd.value if natd and natn and natd.leaving_year == natn.leaving_year else None
            if round_half_up(gap, 1) > 0:
                s = (f"Disadvantaged {who} were {pct_text(gap, 1)} percentage points less likely than other "
                     f"leavers to be in education, employment or training")
            elif round_half_up(gap, 1) < 0:
                s = (f"Disadvantaged {who} were {pct_text(-gap, 1)} percentage points more likely than other "
                     f"leavers to be in education, employment or training")
            else:
                s = f"Disadvantaged {who} were as likely as other leavers to be in education, employment or training"
            s += (f"; the national gap was {pct_text(ng, 1)} points ({natd.when})." if ng is not None else ".")
            out.append(Finding(s, {"key_stage": ks, "measure": "disadvantage_gap_pp", "trust": gap, "national": ng}))
        neet, nk = _pct(tot.get("neet")), _pct(tot.get("not_known"))
        nn = _pct(figs.neet_nk(tot)) if tot else None
        if neet is not None and nk is not None and nn is not None:
            nat = bench.neet("neet_not_known_pct", y)
            s = (f"{pct_text(nn, 1)}% of {who} were NEET or not known (NEET {pct_text(neet, 1)}%, not known "
                 f"{pct_text(nk, 1)}%, each rounded)")
            s += (f"; nationally {pct_text(nat.value, 1)}% of 16-17 year olds were NEET or not known ({nat.when})."
                  if nat else ".")
            out.append(Finding(s, {"key_stage": ks, "measure": "neet_not_known_pct", "trust": nn, "neet": neet,
                                   "not_known": nk, "national": nat.value if nat else None}))
        elif neet is not None:
            nat = bench.neet("neet_pct", y)
            s = f"{pct_text(neet, 1)}% of {who} were NEET in the autumn after leaving"
            s += (f"; nationally {pct_text(nat.value, 1)}% of 16-17 year olds were NEET ({nat.when})." if nat else ".")
            out.append(Finding(s, {"key_stage": ks, "measure": "neet_not_known_pct", "trust": None, "neet": neet,
                                   "not_known": None, "national": nat.value if nat else None}))
        none_ = _pct((figs.row("trust", None, ks, "SEN provision", "No SEN") or {}).get("positive"))
        k = _pct((figs.row("trust", None, ks, "SEN provision", "SEN support") or {}).get("positive"))
        e = _pct((figs.row("trust", None, ks, "SEN provision", "EHC plan") or {}).get("positive"))
        if none_ is not None and (k is not None or e is not None):
            parts = []
            if k is not None:
                parts.append(f"{pct_text(k)}% of {who} with SEN support")
            if e is not None:
                parts.append(f"{pct_text(e)}% of those with an EHC plan")
            s = (" and ".join(parts) + f" went into education, employment or training, against "
                 f"{pct_text(none_)}% of leavers with no SEN.")
            s = s[0].upper() + s[1:]
            out.append(Finding(s, {"key_stage": ks, "measure": "send_positive_pct", "sen_support": k,
                                   "ehc_plan": e, "no_sen": none_}))
    if goals:
        met = [g for g in goals if g.get("on_track") is True]
        known = [g for g in goals if g.get("on_track") is not None]
        if known:
            out.append(Finding(f"{len(met)} of the trust's {len(known)} stereotype-countering goals were on "
                               f"track against their targets in {y}.",
                               {"measure": "goals_on_track", "on_track": len(met), "goals": len(known)}))
    # the five headlines: KS4 first, each kind once, then 16-18 and goals to fill
    order = ["positive_pct", "disadvantaged_positive_pct", "disadvantage_gap_pp", "neet_not_known_pct",
             "send_positive_pct", "goals_on_track"]
    ks4 = [f for f in out if f.figures.get("key_stage") in ("KS4", None)]
    rest = [f for f in out if f not in ks4]
    ks4.sort(key=lambda f: order.index(f.figures["measure"]))
    return (ks4 + rest)[:5]


def key_figures(figs: DestinationFigures, bench: Benchmarks) -> Table:
    """Page-one table: the trust's headline figures per key stage beside the national ones."""
    cols = [Column("key_stage", "Leavers", "text", 2.6), Column("cohort", "Number", "count"),
            Column("positive", "EET %", "pct"), Column("national_positive", "National EET %", "pct", 1.3),
            Column("neet", "NEET %", "pct"), Column("not_known", "Not known %", "pct"),
            Column("national_neet_nk", "England NEET or NK %", "pct", 1.5)]
    nat_nn = bench.neet("neet_not_known_pct", figs.year)
    rows = []
    for ks in figs.key_stages():
        r = figs.row("trust", None, ks, "Total", "Total")
        if r is None:
            continue
        nat = bench.destination(ks, "Total", "Total", "positive_pct", figs.year)
        rows.append([KS_LEAVERS[ks][0].upper() + KS_LEAVERS[ks][1:], value(r["cohort"], "cohort"),
                     value(r["positive"], "positive"), nat.value if nat else None, value(r["neet"], "neet"),
                     value(r["not_known"], "not_known"), nat_nn.value if nat_nn else None])
    return Table("Key figures", f"Key figures, trust, {figs.year}", cols, rows,
                 ["Trust: actual destinations in the autumn after leaving. National EET %: DfE sustained "
                  "destination measure for the newest published cohort; England NEET or NK %: NCCIS 16-17 year "
                  "olds. Different measures and years: see Methods and caveats.", rule_text()])
