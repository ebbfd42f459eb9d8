"""The linked structure of every published mart: which counts are protected, how rows are keyed,
and every additive relation between published cells (research/domain.md §5.1).

A *cell* is one count of one row of one mart (`mart`, `row_key`, `measure`). Cells that hold the
same number by definition (the `cohort` of destination_measures and neet_not_known; a frame total
repeated on every row of the frame) are one *variable*, so they always end in the same state.
A *relation* says `whole = sum(parts)` over variables. Relations come from:

- within a row      e.g. cohort = positive + neet + not_known + other + undecided + excluded
- rollups of rows   breakdowns of a topic to `Total`; `Disadvantage and sex` to both margins;
                    academies (that count in trust totals) to the trust; FSQ bands to `All`
- links             equal cells in two marts or two rows (merged into one variable)

`build_structure` checks every relation on the unpublished data: a relation that does not hold
is an error in this file (the harness would be unsound), never silently dropped.
"""
from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import polars as pl

DESTINATION_COUNTS = ("cohort", "education", "school_sixth_form", "sixth_form_college", "further_education",
                      "higher_education", "other_education", "apprenticeship", "employment", "training",
                      "positive", "neet", "not_known", "other", "undecided", "excluded")
RECONCILIATION_OUTCOMES = ("realised", "changed_route", "became_neet", "became_not_known",
                           "no_intention_recorded", "not_in_actual_return")


@dataclass(frozen=True)
class Rollup:
    """Rows matching `parts` (grouped by `match` and `group`) add up to the one row matching
    `whole` with the same `match` values. `match` holds (part expression, whole expression)
    pairs over aliases p and w; `measures` the (whole measure, part measure) pairs (default:
    every measure to itself)."""
    name: str
    parts: str
    whole: str
    match: tuple[tuple[str, str], ...]
    group: tuple[str, ...] = ()
    measures: tuple[tuple[str, str], ...] | None = None
    whole_one_per: tuple[str, ...] = ()   # take one whole row per these columns (a repeated total)


def _on(match) -> str:
    """Null-safe equality that still hash-joins."""
    return " and ".join(f"coalesce(cast({x} as varchar), '~') = coalesce(cast({y} as varchar), '~')"
                        for x, y in match)


@dataclass(frozen=True)
class Link:
    """Cells that are equal by definition: `measure_a` of mart `a` rows and `measure_b` of mart
    `b` rows that agree on `match` ((a expression, b expression) pairs over aliases a and b)."""
    a: str
    b: str
    measures: tuple[tuple[str, str], ...]
    match: tuple[tuple[str, str], ...]
    where: str = "true"


@dataclass(frozen=True)
class MartSpec:
    """One aggregate mart with a published twin `<name>_published`."""
    name: str
    keys: tuple[str, ...]                 # the row grain (row_key is built from these)
    measures: tuple[str, ...]             # protected counts, the row denominator first
    denominator: str                      # under min_cohort -> the whole row is hidden (c)
    # count -> the count its complement is taken against (count or base - count 1..min_count-1 -> c)
    complement_of: dict[str, str] = field(default_factory=dict)
    within_row: tuple[tuple[str, tuple[str, ...]], ...] = ()
    rollups: tuple[Rollup, ...] = ()
    # key columns no relation crosses: rows that differ in them never share a block, so the
    # engine can reuse a partition's decisions while its rows are unchanged (check_partitions)
    partition: tuple[str, ...] = ("leaving_year",)

    @property
    def published(self) -> str:
        return f"{self.name}_published"


def row_key_sql(keys: tuple[str, ...] | list[str], alias: str | None = None) -> str:
    """The row key of a mart row: its key columns as text joined by '|' (null as '~').
    dbt macro td_row_key builds the same expression."""
    pre = f"{alias}." if alias else ""
    parts = ", ".join(f"coalesce(cast({pre}{k} as varchar), '~')" for k in keys)
    return f"concat_ws('|', {parts})"


def partition_sql(spec: MartSpec) -> str:
    """A row's partition label: `<partition columns>=<their values as in the row key>`."""
    return f"'{','.join(spec.partition)}=' || {row_key_sql(spec.partition)}"


def partition_labels(spec: MartSpec, frame: pl.DataFrame) -> pl.Series:
    """partition_sql's label for every row of a polars frame (the same text)."""
    values = pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null("~") for c in spec.partition], separator="|")
    return frame.select(pl.concat_str([pl.lit(",".join(spec.partition) + "="), values])).to_series()


def _eq(cols) -> tuple[tuple[str, str], ...]:
    return tuple((f"p.{c}", f"w.{c}") for c in cols)


def _breakdown_rollups(frame: tuple[str, ...], trust_frame: tuple[str, ...],
                       trust_parts: str = "p.level = 'academy' and p.counts_in_trust_totals",
                       disadvantage_and_sex: bool = True) -> tuple[Rollup, ...]:
    out = [
        Rollup("topic to Total", "p.breakdown_topic <> 'Total'", "w.breakdown_topic = 'Total'",
               _eq(frame), group=("p.breakdown_topic",)),
    ]
    if disadvantage_and_sex:
        out += [
            Rollup("Disadvantage and sex to Disadvantage", "p.breakdown_topic = 'Disadvantage and sex'",
                   "w.breakdown_topic = 'Disadvantage'",
                   _eq(frame) + (("regexp_extract(p.breakdown, '^(.*) (Female|Male)$', 1)", "w.breakdown"),)),
            Rollup("Disadvantage and sex to Sex", "p.breakdown_topic = 'Disadvantage and sex'",
                   "w.breakdown_topic = 'Sex'",
                   _eq(frame) + (("regexp_extract(p.breakdown, '(Female|Male)$', 1)", "w.breakdown"),)),
        ]
    out.append(Rollup("academies to trust", trust_parts, "w.level = 'trust'",
                      _eq(trust_frame + ("breakdown_topic", "breakdown"))))
    return tuple(out)


_BD = ("breakdown_topic", "breakdown")

MARTS: tuple[MartSpec, ...] = (
    MartSpec(
        name="destination_measures",
        keys=("level", "academy_urn", "leaving_year", "key_stage", "round") + _BD,
        measures=DESTINATION_COUNTS, denominator="cohort",
        complement_of={m: "cohort" for m in DESTINATION_COUNTS[1:]},
        within_row=(
            ("cohort", ("positive", "neet", "not_known", "other", "undecided", "excluded")),
            ("positive", ("education", "apprenticeship", "employment", "training")),
            ("education", ("school_sixth_form", "sixth_form_college", "further_education",
                           "higher_education", "other_education")),
        ),
        rollups=_breakdown_rollups(("level", "academy_urn", "leaving_year", "key_stage", "round"),
                                   ("leaving_year", "key_stage", "round")),
    ),
    MartSpec(
        name="neet_not_known",
        keys=("level", "academy_urn", "leaving_year", "key_stage", "round") + _BD,
        measures=("neet_denominator", "cohort", "excluded", "neet", "neet_active", "neet_inactive",
                  "not_known", "neet_not_known"),
        denominator="neet_denominator",
        complement_of={"cohort": "cohort", "excluded": "cohort", "neet": "neet_denominator",
                       "neet_active": "neet_denominator", "neet_inactive": "neet_denominator",
                       "not_known": "neet_denominator", "neet_not_known": "neet_denominator"},
        within_row=(
            ("cohort", ("neet_denominator", "excluded")),
            ("neet_not_known", ("neet", "not_known")),
            ("neet", ("neet_active", "neet_inactive")),
        ),
        rollups=_breakdown_rollups(("level", "academy_urn", "leaving_year", "key_stage", "round"),
                                   ("leaving_year", "key_stage", "round")),
    ),
    MartSpec(
        name="fsq_destination_rates",
        keys=("level", "academy_urn", "leaving_year", "key_stage", "readiness_band") + _BD,
        measures=("cohort", "positive", "neet", "not_known", "other", "with_fsq"),
        denominator="cohort",
        complement_of={m: "cohort" for m in ("positive", "neet", "not_known", "other", "with_fsq")},
        within_row=(("cohort", ("positive", "neet", "not_known", "other")),),
        rollups=_breakdown_rollups(("level", "academy_urn", "leaving_year", "key_stage", "readiness_band"),
                                   ("leaving_year", "key_stage", "readiness_band"),
                                   trust_parts="p.level = 'academy'", disadvantage_and_sex=False) + (
            Rollup("readiness bands to All", "p.readiness_band <> 'All'", "w.readiness_band = 'All'",
                   _eq(("level", "academy_urn", "leaving_year", "key_stage") + _BD)),
        ),
    ),
    MartSpec(
        name="fsq_construct_scores",
        keys=("level", "academy_urn", "academic_year", "survey_round", "year_group", "construct") + _BD,
        measures=("pupils_responding", "pupils_invited", "pupils_answering", "answers", "positive_answers"),
        denominator="pupils_responding",
        complement_of={"positive_answers": "answers"},
        partition=("academic_year", "survey_round", "year_group"),
        rollups=_breakdown_rollups(("level", "academy_urn", "academic_year", "survey_round", "year_group",
                                    "construct"),
                                   ("academic_year", "survey_round", "year_group", "construct"),
                                   trust_parts="p.level = 'academy'", disadvantage_and_sex=False),
    ),
    MartSpec(
        name="goal_progress",
        keys=("goal_id", "level", "academy_urn", "leaving_year", "round"),
        measures=("denominator", "numerator"), denominator="denominator",
        complement_of={"numerator": "denominator"},
        rollups=(Rollup("academies to trust", "p.level = 'academy' and p.counts_in_trust_totals",
                        "w.level = 'trust'", _eq(("goal_id", "leaving_year", "round"))),),
    ),
    MartSpec(
        name="destination_reconciliation_rates",
        keys=("level", "academy_urn", "leaving_year", "key_stage", "intended_round") + _BD,
        measures=("pupils",) + RECONCILIATION_OUTCOMES, denominator="pupils",
        complement_of={m: "pupils" for m in RECONCILIATION_OUTCOMES},
        within_row=(("pupils", RECONCILIATION_OUTCOMES),),
        rollups=_breakdown_rollups(("level", "academy_urn", "leaving_year", "key_stage", "intended_round"),
                                   ("leaving_year", "key_stage", "intended_round")),
    ),
    MartSpec(
        name="destination_reconciliation_flows",
        keys=("level", "academy_urn", "leaving_year", "key_stage", "intended_round", "source_group",
              "target_group"),
        measures=("frame_pupils", "pupils"), denominator="frame_pupils",
        complement_of={"pupils": "frame_pupils"},
        rollups=(
            Rollup("academies to trust", "p.level = 'academy' and p.counts_in_trust_totals", "w.level = 'trust'",
                   _eq(("leaving_year", "key_stage", "intended_round", "source_group", "target_group")),
                   measures=(("pupils", "pupils"),)),
            # every flow of a frame adds up to the frame total (carried on each row; all one variable)
            Rollup("flows to frame", "true", "true",
                   _eq(("level", "academy_urn", "leaving_year", "key_stage", "intended_round")),
                   measures=(("frame_pupils", "pupils"),),
                   whole_one_per=("level", "academy_urn", "leaving_year", "key_stage", "intended_round")),
        ),
    ),
    *(MartSpec(
        name=name,
        keys=("level", "academy_urn", "leaving_year", "key_stage", "round") + extra,
        measures=("frame_pupils", "pupils"), denominator="frame_pupils",
        complement_of={"pupils": "frame_pupils"},
        rollups=(
            # rows exist only for counts > 0, so a missing academy row is a 0 part
            Rollup("academies to trust", "p.level = 'academy' and p.counts_in_trust_totals", "w.level = 'trust'",
                   _eq(("leaving_year", "key_stage", "round") + extra), measures=(("pupils", "pupils"),)),
            Rollup("rows to frame", "true", "true", _eq(frame), measures=(("frame_pupils", "pupils"),),
                   whole_one_per=frame),
        ),
    ) for name, extra, frame in (
        ("destination_routes", ("route",), ("level", "academy_urn", "leaving_year", "key_stage", "round")),
        ("destination_providers", ("destination_group", "provider"),
         ("level", "academy_urn", "leaving_year", "key_stage", "round", "destination_group")),
    )),
    MartSpec(
        name="neet_risk_rates",
        keys=("level", "academy_urn", "leaving_year", "key_stage") + _BD,
        measures=("pupils", "flagged"), denominator="pupils",
        complement_of={"flagged": "pupils"},
        rollups=_breakdown_rollups(("level", "academy_urn", "leaving_year", "key_stage"),
                                   ("leaving_year", "key_stage")),
    ),
)

# Public release: each academy's website statement (public_destination_statement), one row per
# academy x leaving year x key stage x first actual round, all leavers. Run through the same
# engine with the stricter td:public:* thresholds (pipelines/lib/disclosure/public.py). Measures
# the statement never prints for a key stage are folded into `unprinted_*` cells, so the engine
# protects what a reader could still work out from the printed ones.
PUBLIC_STATEMENT = MartSpec(
    name="public_statement",
    keys=("academy_urn", "leaving_year", "key_stage", "round"),
    measures=("cohort", "positive", "education", "school_sixth_form", "sixth_form_college", "further_education",
              "higher_education", "other_education", "apprenticeship", "employment", "training", "neet",
              "not_known", "other", "unprinted_education", "unprinted_leavers"),
    denominator="cohort",
    complement_of={m: "cohort" for m in ("positive", "education", "school_sixth_form", "sixth_form_college",
                                         "further_education", "higher_education", "other_education",
                                         "apprenticeship", "employment", "training", "neet", "not_known",
                                         "other", "unprinted_education", "unprinted_leavers")},
    within_row=(
        ("cohort", ("positive", "neet", "not_known", "other", "unprinted_leavers")),
        ("positive", ("education", "apprenticeship", "employment", "training")),
        ("education", ("school_sixth_form", "sixth_form_college", "further_education", "higher_education",
                       "other_education", "unprinted_education")),
    ),
)

MART_BY_NAME = {m.name: m for m in MARTS + (PUBLIC_STATEMENT,)}

_DM_NNK = (("level", "level"), ("academy_urn", "academy_urn"), ("leaving_year", "leaving_year"),
           ("key_stage", "key_stage"), ("round", "round"), ("breakdown_topic", "breakdown_topic"),
           ("breakdown", "breakdown"))

LINKS: tuple[Link, ...] = (
    # the shared counts of destination_measures and neet_not_known (actual rounds)
    Link("destination_measures", "neet_not_known",
         (("cohort", "cohort"), ("excluded", "excluded"), ("neet", "neet"), ("not_known", "not_known")),
         tuple((f"a.{x}", f"b.{y}") for x, y in _DM_NNK)),
    # a frame total repeated on every flow of the frame
    Link("destination_reconciliation_flows", "destination_reconciliation_flows",
         (("frame_pupils", "frame_pupils"),),
         tuple((f"a.{c}", f"b.{c}") for c in ("level", "academy_urn", "leaving_year", "key_stage",
                                              "intended_round"))),
    # the reconciliation frame total is the Total row of the rates mart
    Link("destination_reconciliation_flows", "destination_reconciliation_rates",
         (("frame_pupils", "pupils"),),
         tuple((f"a.{c}", f"b.{c}") for c in ("level", "academy_urn", "leaving_year", "key_stage",
                                              "intended_round")),
         where="b.breakdown_topic = 'Total'"),
    # a frame total repeated on every route / provider row of the frame
    Link("destination_routes", "destination_routes", (("frame_pupils", "frame_pupils"),),
         tuple((f"a.{c}", f"b.{c}") for c in ("level", "academy_urn", "leaving_year", "key_stage", "round"))),
    Link("destination_providers", "destination_providers", (("frame_pupils", "frame_pupils"),),
         tuple((f"a.{c}", f"b.{c}") for c in ("level", "academy_urn", "leaving_year", "key_stage", "round",
                                              "destination_group"))),
    # pupils invited / responding do not depend on the construct
    Link("fsq_construct_scores", "fsq_construct_scores",
         (("pupils_invited", "pupils_invited"), ("pupils_responding", "pupils_responding")),
         tuple((f"a.{c}", f"b.{c}") for c in ("level", "academy_urn", "academic_year", "survey_round",
                                              "year_group", "breakdown_topic", "breakdown"))),
)


def structure_columns(spec: MartSpec, links: tuple[Link, ...] | None = None) -> list[str]:
    """Every column build_structure reads of a mart: its keys and measures, level and academy_urn,
    and the columns its rollups and links name (p. / w. / a. / b.<column>). The engine digests
    these only (a shown percentage's rounding noise is no change) and gives build_structure these
    only, so a column the structure reads but this list misses fails loudly, never silently."""
    import re
    said = [("pw", " ".join((ru.parts, ru.whole, *itertools.chain.from_iterable(ru.match)))) for ru in spec.rollups]
    for link in LINKS if links is None else links:
        for alias, mart in (("a", link.a), ("b", link.b)):
            if mart == spec.name:
                said.append((alias, " ".join((link.where, *itertools.chain.from_iterable(link.match)))))
    named = {c for aliases, text in said for c in re.findall(rf"\b[{aliases}]\.([A-Za-z_][A-Za-z0-9_]*)", text)}
    return list(dict.fromkeys((*spec.keys, *spec.measures, "level", "academy_urn", *sorted(named))))


def check_partitions(specs: tuple[MartSpec, ...] = MARTS, links: tuple[Link, ...] = LINKS) -> None:
    """No relation crosses a partition, by construction: every partition column is a key, every
    rollup matches parts to wholes on each partition column, every link joins marts partitioned
    alike on each. Raises AssertionError naming the first rule that does not."""
    by = {m.name: m for m in specs}
    for spec in specs:
        missing = [c for c in spec.partition if c not in spec.keys]
        assert not missing, f"{spec.name}: partition column(s) {missing} are not row keys"
        for ru in spec.rollups:
            for c in spec.partition:
                assert (f"p.{c}", f"w.{c}") in ru.match, \
                    f"{spec.name}: rollup '{ru.name}' does not match parts to wholes on partition column {c}"
    for link in links:
        if link.a not in by or link.b not in by:
            continue
        a, b = by[link.a], by[link.b]
        assert a.partition == b.partition, f"link {a.name} - {b.name} joins marts partitioned differently"
        for c in a.partition:
            assert (f"a.{c}", f"b.{c}") in link.match, \
                f"link {a.name} - {b.name} does not match on partition column {c}"


class Relations(Sequence):
    """Relations `whole = sum(parts)` as arrays (`wholes`; the parts in CSR: `offsets`, `parts`),
    read as the list of (whole, parts tuple) they stand for: a tuple is made on each access and
    not kept (a list of tuples costs about 200 bytes a relation, the arrays 8 per variable in it)."""

    def __init__(self, wholes: np.ndarray, offsets: np.ndarray, parts: np.ndarray) -> None:
        self.wholes = np.asarray(wholes, np.int64)
        self.offsets = np.asarray(offsets, np.int64)
        self.parts = np.asarray(parts, np.int64)

    @classmethod
    def of(cls, relations) -> "Relations":
        rels = list(relations)
        lens = np.fromiter((len(p) for _, p in rels), np.int64, len(rels))
        return cls(np.fromiter((w for w, _ in rels), np.int64, len(rels)), np.concatenate(([0], np.cumsum(lens))),
                   np.fromiter(itertools.chain.from_iterable(p for _, p in rels), np.int64, int(lens.sum())))

    @property
    def lens(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.wholes)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        a, b = self.offsets[i], self.offsets[i + 1]
        return int(self.wholes[i]), tuple(self.parts[a:b].tolist())

    def __iter__(self):
        w, o, p = self.wholes.tolist(), self.offsets.tolist(), self.parts.tolist()
        for i, wi in enumerate(w):
            yield wi, tuple(p[o[i]:o[i + 1]])

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and len(self) == len(other) and list(self) == list(other)

    __hash__ = None


TEXT_COLUMNS = ("mart", "measure", "partition_label")   # Enum in Structure.cells (text_cells: as text)


def text_cells(cells: pl.DataFrame) -> pl.DataFrame:
    """Structure.cells (or a frame of its columns) with TEXT_COLUMNS as text, as published."""
    return cells.with_columns(pl.col(c).cast(pl.Utf8) for c in TEXT_COLUMNS if c in cells.columns)


@dataclass
class Structure:
    """Cells, variables and relations of all published marts, ready for the engine and harness."""
    cells: pl.DataFrame            # mart, row_id, row_key, measure, measure_order, value, var, academy_urn, ...
    #                                (TEXT_COLUMNS as Enum: text_cells gives them as text)
    values: list[int]              # value of each variable
    relations: Relations | list[tuple[int, tuple[int, ...]]]   # (whole var, part vars), sound on the data
    relation_names: list[str] = field(default_factory=list)

    @functools.cached_property
    def row_denominator(self) -> dict[int, int]:
        """row id -> variable of its denominator."""
        d = self.cells.filter(pl.col("is_denominator"))
        return dict(zip(d["row_id"].to_list(), d["var"].to_list()))

    @functools.cached_property
    def row_vars(self) -> dict[int, list[int]]:
        """row id -> variables of its cells (in measure order)."""
        return _lists_by(self.cells["row_id"].to_list(), self.cells["var"].to_list())

    @functools.cached_property
    def var_rows(self) -> dict[int, list[int]]:
        """variable -> rows it appears in."""
        return _lists_by(self.cells["var"].to_list(), self.cells["row_id"].to_list())


def _as_polars(frame) -> pl.DataFrame:
    """A mart's rows as a polars frame (a DuckDB relation, or frame-like)."""
    return frame if isinstance(frame, pl.DataFrame) else frame.pl() if hasattr(frame, "pl") else pl.DataFrame(frame)


def _lists_by(keys: list[int], values: list[int]) -> dict[int, list[int]]:
    """key -> its values, in the order given."""
    out: dict[int, list[int]] = {}
    for k, v in zip(keys, values):
        out.setdefault(k, []).append(v)
    return out


def _q(name: str) -> str:
    return f'"{name}"'


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For every node 0..n-1 the smallest node of its connected component (edges a[i]-b[i]):
    what a union-find that always hangs the larger root under the smaller one ends with."""
    lab = np.arange(n, dtype=np.int64)
    if not len(a):
        return lab
    while True:
        m = np.minimum(lab[a], lab[b])
        new = lab.copy()
        np.minimum.at(new, a, m)
        np.minimum.at(new, b, m)
        while True:   # pointer jumping: every label to its label's label
            nxt = new[new]
            if np.array_equal(nxt, new):
                break
            new = nxt
        if np.array_equal(new, lab):
            return lab
        lab = new


class _Relations:
    """Relations as arrays (whole, parts in CSR), checked on the data as they are added; the
    parts of each relation sorted, the whole left out of its own parts (as a tuple would)."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self.chunks: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, name: str, whole: np.ndarray, seg: np.ndarray, parts: np.ndarray) -> None:
        """Relations `whole[i] = sum(parts[seg == i])` (seg: the relation of each part entry)."""
        keep = parts != whole[seg]
        seg, parts = seg[keep], parts[keep]
        order = np.lexsort((parts, seg))
        seg, parts = seg[order], parts[order]
        total = np.zeros(len(whole), dtype=np.int64)
        np.add.at(total, seg, self.values[parts])
        bad = np.nonzero(total != self.values[whole])[0]
        assert not len(bad), (
            f"relation '{name}' does not hold: {self.values[whole[bad[0]]]} <> {total[bad[0]]}; "
            "the disclosure structure is wrong")
        counts = np.bincount(seg, minlength=len(whole))
        self.chunks.append((name, whole, np.concatenate(([0], np.cumsum(counts))), parts))

    def check_within(self, cell_part: np.ndarray, var: np.ndarray) -> None:
        """Every variable (linked cells) and every relation keeps to one partition (check_partitions
        on the data: the engine's reuse of unchanged partitions rests on it)."""
        part = np.full(len(self.values), -1, np.int64)
        part[var] = cell_part
        bad = np.nonzero(part[var] != cell_part)[0]
        assert not len(bad), f"a link joins cells of two partitions (cell {int(bad[0])}); the disclosure structure is wrong"
        for name, whole, off, parts in self.chunks:
            seg = np.repeat(np.arange(len(whole), dtype=np.int64), np.diff(off))
            bad = np.nonzero(part[parts] != part[whole[seg]])[0]
            assert not len(bad), f"relation '{name}' joins cells of two partitions; the disclosure structure is wrong"

    def result(self) -> tuple[Relations, list[str]]:
        """(relations: one copy of each, in (whole, parts tuple) order; the name of each: the
        first rule that gave it). Array work: sorted by whole and the first _SORT_PARTS parts (a
        missing part as -1: a shorter tuple first), which orders and dedups every run of them
        whose relations all have that many parts or fewer; the few runs with a longer one (e.g. a
        trust total over every academy, given by two linked marts) are sorted as tuples."""
        names = [c[0] for c in self.chunks]
        chunks = [(i, whole, off) for i, (_, whole, off, _) in enumerate(self.chunks)]
        lens = np.concatenate([np.diff(off) for _, _, off in chunks] or [np.empty(0, np.int64)])
        keep = lens > 0   # a relation with no parts left is none
        whole = np.concatenate([w for _, w, _ in chunks] or [np.empty(0, np.int64)])[keep]
        rule = np.concatenate([np.full(len(w), i, np.int32) for i, w, _ in chunks] or [np.empty(0, np.int32)])[keep]
        start = np.concatenate([o[:-1] + base for (_, _, o), base in zip(
            chunks, np.cumsum([0] + [int(o[-1]) for _, _, o in chunks[:-1]]))] or [np.empty(0, np.int64)])[keep]
        allparts = np.concatenate([c[3] for c in self.chunks] or [np.empty(0, np.int64)])
        del chunks
        self.chunks = []   # all in the arrays above now: freed before the sort
        lens = lens[keep]
        n = len(whole)
        first = []
        for k in range(_SORT_PARTS):
            col = np.full(n, -1, np.int64)
            has = lens > k
            col[has] = allparts[start[has] + k]
            first.append(col)
        order = np.lexsort((np.arange(n), *reversed(first), whole))   # equal relations: the first given first
        new_run = np.zeros(n, bool)
        new_run[:1] = True
        for col in [whole] + first:   # a key column at a time (not all of them stacked)
            col = col[order]
            new_run[1:] |= col[1:] != col[:-1]
        del first, col
        run_id = np.cumsum(new_run) - 1
        long_run = np.zeros(int(run_id[-1]) + 1 if n else 0, bool)
        long_run[run_id[lens[order] > _SORT_PARTS]] = True
        # runs of short relations: one relation (its first) each, in order
        out = np.nonzero(new_run & ~long_run[run_id])[0]
        tail = [order[out]]
        pos = [out.astype(np.float64)]
        # runs with a long relation: as tuples (sorted, the first given kept), placed where the run is
        starts = np.append(np.nonzero(new_run)[0], n)
        for r in np.nonzero(long_run)[0].tolist():
            members = order[starts[r]:starts[r + 1]]
            seen: dict = {}
            for i in sorted(members.tolist(), key=lambda i: (tuple(allparts[start[i]:start[i] + lens[i]].tolist()), i)):
                seen.setdefault(tuple(allparts[start[i]:start[i] + lens[i]].tolist()), i)
            got = np.fromiter(seen.values(), np.int64, len(seen))
            at = float(starts[r])
            tail.append(got)
            pos.append(at + np.arange(len(got)) / (len(got) + 1))
        pick = np.concatenate(tail)[np.argsort(np.concatenate(pos), kind="stable")]
        n_parts = lens[pick]
        offsets = np.concatenate(([0], np.cumsum(n_parts)))
        gather = np.repeat(start[pick] - offsets[:-1], n_parts) + np.arange(int(offsets[-1]), dtype=np.int64)
        return Relations(whole[pick], offsets, allparts[gather]), [names[i] for i in rule[pick].tolist()]


_SORT_PARTS = 6   # parts of a relation sorted and deduplicated as arrays (_Relations.result)


def build_structure(frames: dict[str, pl.DataFrame | object]) -> Structure:
    """Cells, variables and relations for the marts in `frames` (unpublished mart name -> rows).
    Raises AssertionError naming the relation if a relation does not hold on the data.
    The rows, cells, links and rollup groups come from SQL; numbering and checks are array work."""
    con = duckdb.connect()
    try:
        present = [m for m in MARTS + (PUBLIC_STATEMENT,) if m.name in frames]
        # deterministic row ids: by mart, then row key (one sorted row-key query per mart)
        first_id = 0
        row_keys = {}   # per mart its row keys in row id order
        for spec in present:
            src = _as_polars(frames[spec.name]).with_row_index("_src_pos")
            con.register("_src", src)
            got = con.execute(f"select _src_pos, {row_key_sql(spec.keys)} as row_key from _src order by row_key").pl()
            con.unregister("_src")
            keys = row_keys[spec.name] = got["row_key"]
            dup = (keys.slice(1) == keys.slice(0, max(len(keys) - 1, 0))).arg_true()   # sorted: equal ones meet
            assert not len(dup), f"mart {spec.name} has two rows with key {keys[int(dup[0])]!r}"
            pos = got["_src_pos"].to_numpy().astype(np.int64)
            row_id = np.empty(len(pos), np.int64)
            row_id[pos] = first_id + np.arange(len(pos), dtype=np.int64)
            first_id += len(pos)
            # one table of the mart's rows with their ids: the rollups join it many times (a join
            # over the frame itself is twice as slow); the only copy (no row key in it)
            con.register("_rows", src.drop("_src_pos").with_columns(row_id=pl.Series(row_id)))
            con.execute(f"create table {_q(spec.name)} as select * from _rows")
            con.unregister("_rows")
            del src, got, keys, pos, row_id
        # cells numbered by row, then measure: per mart its rows (ordered by row id) once from SQL,
        # each row's text gathered to its cells (a gathered string shares the row's bytes)
        # the text every cell of a mart shares (mart, measure, partition) as Enum codes: a byte a
        # cell, not a 16-byte string view (TEXT_COLUMNS: cast back to text for the result)
        mart_t = pl.Enum([spec.name for spec in present])
        measure_t = pl.Enum(list(dict.fromkeys(m for spec in present for m in spec.measures)))
        label_t = pl.Enum(sorted({r[0] for spec in present for r in con.execute(
            f"select distinct {partition_sql(spec)} from {_q(spec.name)}").fetchall()}))
        parts = []
        for mi, spec in enumerate(present):
            k = len(spec.measures)
            rows = con.execute(
                f"select row_id, case when level = 'academy' then cast(academy_urn as varchar) end as academy_urn, "
                f"{partition_sql(spec)} as partition_label, "
                + ", ".join(f"cast({m} as bigint) as {_q('m' + str(j))}" for j, m in enumerate(spec.measures))
                + f" from {_q(spec.name)} order by row_id").pl()
            at = pl.Series(np.repeat(np.arange(rows.height, dtype=np.int64), k))
            values = pl.concat([rows[f"m{j}"] for j in range(k)]) if rows.height else pl.Series([], dtype=pl.Int64)
            order = pl.Series(np.tile(np.arange(k, dtype=np.int64), rows.height) * rows.height
                              + np.repeat(np.arange(rows.height, dtype=np.int64), k))
            measure_order = np.tile(np.arange(k, dtype=np.int32), rows.height)
            parts.append(pl.DataFrame({
                "mart": pl.Series([spec.name], dtype=mart_t).gather(np.zeros(len(at), np.int64)),
                "mart_order": pl.Series(np.full(len(at), mi, np.int32)),
                "row_id": rows["row_id"].cast(pl.Int64).gather(at),
                "row_key": row_keys.pop(spec.name).gather(at),
                "measure": pl.Series(list(spec.measures), dtype=measure_t).gather(measure_order.astype(np.int64)),
                "measure_order": pl.Series(measure_order),
                "value": values.cast(pl.Int64).gather(order),
                "academy_urn": rows["academy_urn"].cast(pl.Utf8).gather(at),
                "is_denominator": pl.Series(measure_order == spec.measures.index(spec.denominator)),
                "partition_label": rows["partition_label"].cast(label_t).gather(at),
            }))
            del rows, values
        cells = pl.concat(parts, how="vertical")   # marts in mart order: their row ids are in order
        del parts
        cells = cells.with_row_index("cell_id").with_columns(pl.col("cell_id").cast(pl.Int64))
        n_cells = cells.height
        cell_value = cells["value"].fill_null(0).to_numpy().astype(np.int64)
        cell_row = cells["row_id"].to_numpy().astype(np.int64)
        n_rows = int(cell_row[-1]) + 1 if n_cells else 0
        # a row's cells are consecutive, in measure order: cell of (row, measure k) = first + k
        row_first = np.searchsorted(cell_row, np.arange(n_rows, dtype=np.int64))
        measure_no = {spec.name: {m: k for k, m in enumerate(spec.measures)} for spec in present}

        def rows_of(sql: str) -> np.ndarray:
            return con.execute(sql).fetchnumpy()

        # links -> connected cells are one variable (numbered by their first cell)
        la, lb = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
        for link in LINKS:
            if link.a not in frames or link.b not in frames:
                continue
            got = rows_of(f"""
                select a.row_id as ra, min(b.row_id) as rb
                from {_q(link.a)} as a join {_q(link.b)} as b on {_on(link.match)}
                where {link.where} and a.row_id <> b.row_id
                group by a.row_id order by a.row_id
            """)
            ra, rb = np.asarray(got["ra"], np.int64), np.asarray(got["rb"], np.int64)
            for ma, mb in link.measures:
                x = row_first[ra] + measure_no[link.a][ma]
                y = row_first[rb] + measure_no[link.b][mb]
                bad = np.nonzero(cell_value[x] != cell_value[y])[0]
                assert not len(bad), (
                    f"link {link.a}.{ma} = {link.b}.{mb} does not hold "
                    f"({cell_value[x[bad[0]]]} <> {cell_value[y[bad[0]]]}); the disclosure structure is wrong")
                la.append(x)
                lb.append(y)
        roots = _components(n_cells, np.concatenate(la), np.concatenate(lb))
        _, var = np.unique(roots, return_inverse=True)   # a root is its component's first cell
        var = var.astype(np.int64)
        cells = cells.with_columns(var=pl.Series(var, dtype=pl.Int64))
        values_a = np.zeros(int(var.max()) + 1 if n_cells else 0, dtype=np.int64)
        values_a[var] = cell_value

        rel = _Relations(values_a)
        for spec in present:
            rows = np.asarray(rows_of(f"select row_id from {_q(spec.name)} order by row_id")["row_id"], np.int64)
            first = row_first[rows]
            for whole, parts in spec.within_row:
                k = len(parts)
                pk = np.array([measure_no[spec.name][p] for p in parts], np.int64)
                rel.add(f"{spec.name}: {whole} row", var[first + measure_no[spec.name][whole]],
                        np.repeat(np.arange(len(rows), dtype=np.int64), k),
                        var[(first[:, None] + pk[None, :]).ravel()])
            for ru in spec.rollups:
                groups = ", ".join(("w.row_id",) + ru.group)
                whole_rel = _q(spec.name)
                if ru.whole_one_per:
                    whole_rel = (f"(select * from {_q(spec.name)} qualify row_number() over "
                                 f"(partition by {', '.join(ru.whole_one_per)} order by row_id) = 1)")
                got = con.execute(f"""
                    select w.row_id as wrow, list(distinct p.row_id order by p.row_id) as prows
                    from {_q(spec.name)} as p join {whole_rel} as w on {_on(ru.match)}
                    where ({ru.parts}) and ({ru.whole})
                    group by {groups} order by all
                """).arrow()
                if hasattr(got, "read_all"):
                    got = got.read_all()
                wrow = np.asarray(got["wrow"].to_numpy(), np.int64)
                lists = got["prows"].combine_chunks()
                offs = np.asarray(lists.offsets.to_numpy(), np.int64)
                prow = np.asarray(lists.values.to_numpy(), np.int64)[offs[0]:offs[-1]]
                seg = np.repeat(np.arange(len(wrow), dtype=np.int64), np.diff(offs))
                for wm, pm in ru.measures or tuple((m, m) for m in spec.measures):
                    rel.add(f"{spec.name}: {ru.name}", var[row_first[wrow] + measure_no[spec.name][wm]], seg,
                            var[row_first[prow] + measure_no[spec.name][pm]])
        rel.check_within(cells["partition_label"].to_physical().to_numpy().astype(np.int64), var)
        rels, names = rel.result()
        return Structure(cells=cells, values=values_a.tolist(), relations=rels, relation_names=names)
    finally:
        con.close()
