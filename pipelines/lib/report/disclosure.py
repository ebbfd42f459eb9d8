"""Disclosure control for the figures the pack shows.

The pack reads published (suppressed) marts. On top of that it re-applies the trust rule to
everything it derives and enforces secondary suppression across every table at once: for each
additive relation the pack exposes (a total and its parts, within a row, across the
breakdowns of a topic, and academies against the trust), a relation with exactly one withheld
member gets a second one withheld, until none is left. Suppression is only ever added.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from pipelines.lib.report.serving import is_suppressed_value, number, thresholds

# Count measures of destination_measures the pack shows, plus two derived ones.
BASE_MEASURES = ("cohort", "positive", "education", "apprenticeship", "employment", "training",
                 "neet", "not_known")
DERIVED = {
    "other_all": ("other", "undecided", "excluded"),   # everyone not positive, NEET or not known
}
MEASURES = BASE_MEASURES + tuple(DERIVED)
# total = sum(parts) relations inside one row
ROW_RELATIONS = (
    ("cohort", ("positive", "neet", "not_known", "other_all")),
    ("positive", ("education", "apprenticeship", "employment", "training")),
)
# cross-classified breakdowns: a marginal equals the sum of these cells
CROSS_RELATIONS = (
    ("Disadvantage", "Disadvantaged", ("Disadvantaged Female", "Disadvantaged Male")),
    ("Disadvantage", "Not disadvantaged", ("Not disadvantaged Female", "Not disadvantaged Male")),
    ("Sex", "Female", ("Disadvantaged Female", "Not disadvantaged Female")),
    ("Sex", "Male", ("Disadvantaged Male", "Not disadvantaged Male")),
)
CROSS_TOPIC = "Disadvantage and sex"


@dataclass
class Fig:
    count: int | None
    pct: float | None
    suppressed: bool


RowKey = tuple  # (level, academy_urn, key_stage, round, breakdown_topic, breakdown)


@dataclass
class DestinationFigures:
    """Destination counts of one leaving year and round, after disclosure control."""
    year: str
    round: str
    rows: dict[RowKey, dict[str, Fig]] = field(default_factory=dict)
    order: dict[tuple, tuple] = field(default_factory=dict)     # (topic, breakdown) -> sort key
    academy_names: dict[str, str] = field(default_factory=dict)
    published: bool = True
    secondary_added: int = 0

    def neet_nk(self, row: dict[str, Fig] | None) -> Fig | None:
        """NEET or not known: shown only when both parts are (so it reveals nothing new)."""
        if row is None:
            return None
        a, b = row["neet"], row["not_known"]
        if a.suppressed or b.suppressed:
            return Fig(None, None, True)
        return Fig(a.count + b.count, (a.pct or 0) + (b.pct or 0), False)

    def row(self, level: str, urn: str | None, key_stage: str, topic: str, breakdown: str) -> dict[str, Fig] | None:
        return self.rows.get((level, urn, key_stage, self.round, topic, breakdown))

    def key_stages(self) -> list[str]:
        ks = {k[2] for k in self.rows}
        return [k for k in ("KS4", "16-18") if k in ks] + sorted(ks - {"KS4", "16-18"})

    def academies(self, key_stage: str | None = None) -> list[str]:
        urns = {k[1] for k in self.rows if k[0] == "academy" and (key_stage is None or k[2] == key_stage)}
        return sorted(urns, key=lambda u: (self.academy_names.get(u, ""), u))

    def breakdowns(self) -> list[tuple[str, str]]:
        return sorted(self.order, key=lambda tb: self.order[tb])


def primary_suppressed(count: int | None, cohort: int | None) -> bool:
    """Trust rule: cohort under min_cohort, or a count (or cohort minus count) of 1..min_count-1."""
    min_cohort, min_count = thresholds()
    if cohort == 0 and count == 0:
        return False  # no pupils in the group (z): nothing to disclose, and a known zero in relations
    if count is None or cohort is None or cohort < min_cohort:
        return True
    return 0 < count < min_count or 0 < cohort - count < min_count


def load_destination_figures(rows: list[dict], year: str, round_: str, published: bool) -> DestinationFigures:
    """Figures of one year x round from destination_measures(_published) rows, suppressed."""
    figs = DestinationFigures(year=year, round=round_, published=published)
    for r in rows:
        if r.get("leaving_year") != year or r.get("round") != round_:
            continue
        key = (r.get("level"), r.get("academy_urn"), r.get("key_stage"), round_,
               r.get("breakdown_topic"), r.get("breakdown"))
        to, bo = r.get("topic_order"), r.get("breakdown_order")
        figs.order[(key[4], key[5])] = (99 if to is None else to, 99 if bo is None else bo, key[4], key[5])
        if r.get("academy_urn") and r.get("academy_name"):
            figs.academy_names[r["academy_urn"]] = str(r["academy_name"])
        cohort_num = number(r.get("cohort"))
        cohort_sup = cohort_num is None or is_suppressed_value(r, "cohort", published)
        cohort = None if cohort_sup else int(cohort_num)
        out: dict[str, Fig] = {}
        raw: dict[str, int | None] = {}
        listed = r.get("suppressed_measures") or []
        if isinstance(listed, str):
            listed = [x.strip() for x in listed.replace(";", ",").split(",")]
        for m in set(BASE_MEASURES[1:]) | {c for parts in DERIVED.values() for c in parts}:
            v = number(r.get(m))
            # the count decides: a null share beside a count means no pupils (z), not c
            sup = cohort_sup or v is None or is_suppressed_value(r, m, published) or m in listed
            raw[m] = None if sup else int(v)
        out["cohort"] = Fig(cohort, 100.0 if cohort else None, cohort is None or primary_suppressed(cohort, cohort))
        if r.get("suppressed") is True:
            out["cohort"].suppressed = True
        for m in BASE_MEASURES[1:]:
            pct = number(r.get(f"{m}_pct"))
            if pct is None and raw[m] is not None and cohort:
                pct = 100.0 * raw[m] / cohort
            out[m] = Fig(raw[m], pct, raw[m] is None)
        for m, parts in DERIVED.items():
            vals = [raw.get(p) for p in parts]
            c = None if any(v is None for v in vals) else sum(vals)
            if c is None and m == "other_all" and cohort is not None and None not in (
                    raw["positive"], raw["neet"], raw["not_known"]):
                # the residual a reader could work out anyway; the trust rule below decides if it shows
                c = cohort - raw["positive"] - raw["neet"] - raw["not_known"]
            out[m] = Fig(c, (100.0 * c / cohort) if (c is not None and cohort) else None, c is None)
        for m, f in out.items():  # the trust rule again, on everything (published or derived)
            if m != "cohort" and primary_suppressed(f.count, cohort):
                f.suppressed = True
        if out["cohort"].suppressed:
            for f in out.values():
                f.suppressed = True
        figs.rows[key] = out
    figs.secondary_added = secondary_suppress(figs)
    return figs


def relations(figs: DestinationFigures) -> list[list[tuple[RowKey, str]]]:
    """Every additive relation the pack exposes: [total cell, part cells...]."""
    rels: list[list[tuple[RowKey, str]]] = []
    for rk in sorted(figs.rows, key=str):
        for total, parts in ROW_RELATIONS:
            rels.append([(rk, total)] + [(rk, p) for p in parts])
    frames: dict[tuple, dict[tuple, RowKey]] = defaultdict(dict)
    for rk in figs.rows:
        frames[rk[:4]][rk[4:]] = rk
    for frame in sorted(frames, key=str):
        by = frames[frame]
        total = by.get(("Total", "Total"))
        topics: dict[str, list[RowKey]] = defaultdict(list)
        for (topic, _b), rk in sorted(by.items(), key=str):
            if topic != "Total":
                topics[topic].append(rk)
        for m in MEASURES:
            if total:
                for topic, parts in sorted(topics.items()):
                    rels.append([(total, m)] + [(p, m) for p in parts])
            for topic, marginal, cells in CROSS_RELATIONS:
                t = by.get((topic, marginal))
                ps = [by.get((CROSS_TOPIC, c)) for c in cells]
                if t and all(ps):
                    rels.append([(t, m)] + [(p, m) for p in ps])
    # academies against the trust, same key stage x topic x breakdown
    levels: dict[tuple, list[RowKey]] = defaultdict(list)
    for rk in figs.rows:
        if rk[0] == "academy":
            levels[rk[2:]].append(rk)
    for rest in sorted(levels, key=str):
        trust = ("trust", None) + rest
        if trust in figs.rows:
            for m in MEASURES:
                rels.append([(trust, m)] + [(a, m) for a in sorted(levels[rest], key=str)])
    return rels


def secondary_suppress(figs: DestinationFigures) -> int:
    """Withhold complementary cells until no relation has exactly one withheld member."""
    rels = relations(figs)
    cell = lambda c: figs.rows[c[0]][c[1]]  # noqa: E731
    added = 0
    changed = True
    while changed:
        changed = False
        for rel in rels:
            hidden = [c for c in rel if cell(c).suppressed]
            if len(hidden) != 1:
                continue
            shown_parts = [c for c in rel[1:] if not cell(c).suppressed]
            pool = shown_parts or [rel[0]]
            pick = min(pool, key=lambda c: (cell(c).count if cell(c).count is not None else -1, str(c)))
            cell(pick).suppressed = True
            added += 1
            changed = True
            if pick[1] == "cohort":  # a withheld cohort withholds its whole row
                for f in figs.rows[pick[0]].values():
                    if not f.suppressed:
                        f.suppressed = True
                        added += 1
    return added


def find_recoverable(figs: DestinationFigures) -> list:
    """Relations with exactly one withheld member (must be empty after secondary_suppress)."""
    bad = []
    for rel in relations(figs):
        hidden = [c for c in rel if figs.rows[c[0]][c[1]].suppressed]
        if len(hidden) == 1:
            bad.append(rel)
    return bad
