"""The serving contract that the dashboard and the trustee pack both read.

One place for: which mart each consumer reads (names checked against the dbt manifest),
who may read it (`config: {meta: {audience: [...]}}` in the model's YAML), the columns the
consumers use (checked against the served file), how a published cell is shown (`c`
withheld, `z` no pupils / not applicable, numbers), the label of every destination code
(the dbt seed) and the one label of a benchmark period.

Consumers format; they never recompute a published figure or suppress again. A mart or a
column that the manifest or the snapshot does not have raises ContractError (loud), while a
mart the manifest has but the snapshot does not yet hold is simply "not published yet".
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

SUPPRESSED = "c"
NO_PUPILS = "z"
NOT_AVAILABLE = "-"
PUBLISHED_SUFFIX = "_published"
ROLES = ("trust_admin", "director", "academy")

# Every mart either consumer reads, by base name, with the columns they use. The consumer
# gets exactly these columns (plus the published twin's suppression columns), so a column
# used but not declared fails in the tests, and a declared column the mart lacks fails at read.
KEYS = ("level", "academy_urn", "academy_name", "leaving_year", "key_stage")
SUPPRESSION_COLUMNS = ("suppressed", "suppression_status", "suppressed_measures")
DEST_COUNTS = ("cohort", "education", "school_sixth_form", "sixth_form_college", "further_education",
               "higher_education", "other_education", "apprenticeship", "employment", "training", "positive", "neet",
               "not_known", "other", "undecided", "excluded")
USES: dict[str, tuple[str, ...]] = {
    "destination_measures": KEYS + (
        "round", "round_kind", "round_order", "breakdown_topic", "breakdown", "topic_order", "breakdown_order")
        + DEST_COUNTS + tuple(f"{m}_pct" for m in DEST_COUNTS if m != "cohort"),
    "neet_not_known": KEYS + (
        "round", "breakdown_topic", "breakdown", "la_code", "la_name", "cohort", "excluded",
        "neet_denominator", "neet", "not_known", "neet_not_known", "neet_pct", "not_known_pct",
        "neet_not_known_pct", "la_neet_pct", "la_not_known_pct", "la_neet_not_known_pct",
        "la_comparator_leaving_year", "england_neet_pct", "england_not_known_pct",
        "england_neet_not_known_pct", "england_comparator_leaving_year", "comparator_publication"),
    "neet_la_comparator": ("leaving_year", "key_stage", "round", "la_count", "la_names",
                           "la_neet_pct", "la_not_known_pct", "la_neet_not_known_pct",
                           "la_comparator_leaving_year", "comparator_label"),
    "destination_gaps": KEYS + (
        "round", "gap", "gap_order", "group_breakdown", "comparison_breakdown", "measure", "group_pct",
        "comparison_pct", "gap_pp", "national_gap_pp", "national_source", "latest_national_leaving_year",
        "latest_national_gap_pp", "latest_national_source"),
    "goal_progress": KEYS + (
        "goal_id", "goal_title", "round", "round_kind", "measure", "numerator", "denominator", "share_pct",
        "target_pct", "direction", "is_on_track", "comparator_pct", "comparator_year",
        "comparator_description", "comparator_source"),
    "destination_routes": KEYS + ("round", "round_kind", "route", "pupils", "pupils_pct", "frame_pupils"),
    "destination_providers": KEYS + ("round", "round_kind", "destination_group", "provider", "pupils"),
    "benchmark_national_comparison": KEYS + (
        "round", "breakdown_topic", "breakdown", "measure", "trust_value", "national_value", "difference_pp",
        "benchmark_leaving_year", "same_leaving_year", "benchmark_source", "benchmark_publication",
        "benchmark_institution_group"),
    "benchmark_measures": (
        "source", "publication", "is_latest", "leaving_year", "period", "geography_level", "geography_code",
        "geography_name", "key_stage", "institution_group", "breakdown_topic", "breakdown", "measure",
        "value", "suppressed"),
    "destination_reconciliation_flows": (
        "level", "academy_urn", "leaving_year", "key_stage", "intended_round", "source_group",
        "target_group", "pupils"),
    "destination_reconciliation_rates": KEYS + (
        "intended_round", "breakdown_topic", "breakdown", "pupils", "realised_pct", "changed_route_pct",
        "became_neet_pct", "became_not_known_pct", "no_intention_recorded_pct", "not_in_actual_return_pct"),
    "neet_risk_pupils": (
        "leaving_year", "academy_urn", "academy_name", "upn", "pupil_name", "intended_round", "year_group", "key_stage",
        "sex_label", "disadvantage_label", "sen_provision_label", "is_looked_after", "intended_code",
        "intended_group", "intended_route", "september_guarantee", "risk_score", "risk_factors", "reasons",
        "is_flagged"),
    "neet_risk_rates": KEYS + ("breakdown_topic", "breakdown", "pupils", "flagged", "flagged_pct"),
    "fsq_construct_scores": (
        "level", "academy_urn", "academic_year", "survey_round", "survey_round_order", "year_group",
        "construct", "construct_label", "construct_group", "breakdown_topic", "breakdown",
        "pupils_responding", "completion_pct", "pupils_answering", "positive_pct"),
    "fsq_destination_rates": (
        "level", "academy_urn", "leaving_year", "key_stage", "readiness_band", "readiness_band_order",
        "breakdown_topic", "breakdown", "cohort", "positive_pct", "neet_pct", "not_known_pct"),
    "compass_benchmark_trends": (
        "academy_urn", "academy_name", "evaluation_date", "academic_year", "framework_version", "benchmark",
        "benchmark_name", "percent_achieved", "is_latest_in_academic_year", "change_since_previous",
        "comparable_with_previous"),
    "compass_trust_vs_national": (
        "academic_year", "framework_version", "measure", "benchmark", "academies", "trust_value",
        "national_value", "difference_from_national", "comparable_with_national", "national_source"),
    "return_status": (
        "academy_urn", "academy_name", "leaving_year", "round", "round_kind", "round_label", "due_date",
        "return_status", "timeliness", "days_overdue", "rows_total", "rows_accepted", "rows_rejected",
        "errors", "warnings", "feedback_path", "first_accepted_at", "last_submitted_at", "as_of",
        "is_submitted", "latest_submission_status"),
    "similar_schools": (
        "academy_urn", "similarity_rank", "similar_name", "similar_urn", "similar_la_code", "similar_ks4_cohort",
        "similar_disadvantaged_share", "similar_has_sixth_form", "distance", "method"),
    "similar_schools_comparison": (
        "academy_urn", "key_stage", "measure", "measure_order", "academy_pct", "similar_median_pct",
        "similar_min_pct", "similar_max_pct", "similar_schools", "academy_leaving_year", "similar_leaving_year"),
    "return_problem_summary": (
        "academy_urn", "leaving_year", "round", "is_current", "submission_recency", "severity", "rule", "problems",
        "rows_affected", "example_message", "example_rows", "how_to_fix"),
    # reminders (pipelines/lib/notify): the newest file's name per return
    "return_submission_history": ("academy_urn", "leaving_year", "round", "submission_recency", "original_name"),
    # each academy's public statement (pipelines/lib/public/statement.py): it only lays these out
    "public_destination_statement": (
        "academy_urn", "academy_name", "leaving_year", "key_stage", "round", "leavers", "leavers_text", "measure",
        "measure_label", "measure_order", "public_pct", "public_text", "national_pct", "national_leaving_year",
        "national_source", "national_publication", "rule_min_cohort", "rule_min_count", "rule_round_pct_to"),
    # governor packs (pipelines/lib/public/governors.py)
    "compass_academy_summary": (
        "academy_urn", "academy_name", "evaluation_date", "academic_year", "framework_version",
        "benchmarks_reported", "benchmarks_fully_achieved", "mean_percent_achieved", "is_latest_in_academic_year"),
}
# Columns a director-facing reader must never get, whatever a mart's audience says.
PUPIL_COLUMNS = frozenset({"upn", "pupil_id", "pupil_key", "surname", "forename", "first_name", "last_name",
                           "legal_name", "preferred_name", "pupil_name", "admission_number", "date_of_birth"})


# Columns holding published comparators (DfE, NCCIS, targets): a null there is "no figure", never c.
COMPARATOR_PREFIXES = ("la_", "england_", "national_", "latest_national_", "comparator", "target", "benchmark_")


class ContractError(RuntimeError):
    """A consumer named a mart or column the manifest / served snapshot does not have."""


def base_name(name: str) -> str:
    return name[: -len(PUBLISHED_SUFFIX)] if name.endswith(PUBLISHED_SUFFIX) else name


# ---------------------------------------------------------------- the manifest side
def manifest_marts() -> set[str]:
    from pipelines.lib.dbt_manifest import mart_models
    return set(mart_models())


def audience(mart: str) -> frozenset[str]:
    from pipelines.lib.dbt_manifest import mart_audience
    try:
        return mart_audience(mart)
    except KeyError:
        raise ContractError(f"mart {mart!r} is not in the dbt manifest (renamed or removed?)") from None


def check_declared(base: str) -> None:
    if base not in USES:
        raise ContractError(f"mart {base!r} is not declared in serving_contract.USES")
    if base not in manifest_marts():
        raise ContractError(f"mart {base!r} is not in the dbt manifest (renamed or removed?)")


@dataclass(frozen=True)
class Source:
    """Where one role reads one mart: `whole` read in full, `own` read only for own URNs."""
    whole: str | None
    own: str | None

    @property
    def ok(self) -> bool:
        return bool(self.whole or self.own)


def source_for(base: str, role: str) -> Source:
    """Which mart(s) this role reads for `base`, from the audience declared in the manifest."""
    check_declared(base)
    pub = base + PUBLISHED_SUFFIX
    has_pub = pub in manifest_marts()
    if role == "trust_admin":
        return Source(base, None)
    if role == "director":
        if "director" in audience(base):
            return Source(base, None)
        if has_pub and "director" in audience(pub):
            return Source(pub, None)
        return Source(None, None)
    if role == "academy":
        if "academy" in audience(base):
            return Source(base, None)
        own = base if "academy_own" in audience(base) else None
        whole = pub if has_pub and "academy" in audience(pub) else None
        return Source(whole, own)
    raise ContractError(f"unknown role {role!r}")


# ---------------------------------------------------------------- the snapshot side
class Snapshot:
    """One page load's view of the serving folder: resolved once (it may be a symlink that
    the publisher swaps), so every file of the load comes from the same version."""

    def __init__(self, serving: Path):
        self.root = Path(serving).resolve()

    def has(self, name: str) -> bool:
        return (self.root / f"{name}.parquet").is_file()

    def columns(self, name: str) -> list[str]:
        import pyarrow.parquet as pq
        return pq.read_schema(self.root / f"{name}.parquet").names

    def read(self, name: str):
        """The mart as a pyarrow Table of the declared columns, or None when not published yet."""
        import pyarrow.parquet as pq
        base = name[: -len(PUBLISHED_SUFFIX)] if name.endswith(PUBLISHED_SUFFIX) else name
        check_declared(base)
        if name not in manifest_marts():
            raise ContractError(f"mart {name!r} is not in the dbt manifest")
        path = self.root / f"{name}.parquet"
        if not path.is_file():
            return None
        have = pq.read_schema(path).names
        flags = [c for c in have if c in SUPPRESSION_COLUMNS or (c.endswith("_suppressed") and c[:-11] in USES[base])]
        want = list(USES[base]) + (flags if name != base else [])
        missing = [c for c in USES[base] if c not in have]
        if missing:
            raise ContractError(f"{name}: the served file has no column(s) {', '.join(missing)} that the "
                                "dashboard and pack read (serving contract broken)")
        return pq.read_table(path, columns=want)


# ---------------------------------------------------------------- one way to show a cell
def _as_list(v) -> list[str]:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return []
    if isinstance(v, str):
        return [x.strip() for x in v.strip("[]").replace("'", "").replace(";", ",").split(",") if x.strip()]
    try:
        return [str(x) for x in v]
    except TypeError:
        return []


def is_missing(v) -> bool:
    return v is None or type(v).__name__ == "NAType" or (isinstance(v, float) and math.isnan(v))


def withheld(row: dict, col: str) -> bool:
    """True when the published row says this cell is withheld (`c`): the whole row is
    suppressed, or the column (or, for a share, its count) is listed in suppressed_measures.
    A comparator (England, LA, national, target) is someone else's published figure: never
    withheld because the trust's own cells in the row are."""
    if col.startswith(COMPARATOR_PREFIXES):
        return False
    whole = row.get("suppressed")
    if not is_missing(whole) and bool(whole):
        return True
    flag = row.get(f"{col}_suppressed")
    if flag is not None and not is_missing(flag) and bool(flag):
        return True
    listed = _as_list(row.get("suppressed_measures"))
    if not listed:
        return False
    base = col[:-4] if col.endswith("_pct") else col
    return base in listed or col in listed


def state(row: dict, col: str) -> str | None:
    """`c` (withheld), `z` (no pupils / not applicable), `-` (no published comparator) or None (a number)."""
    if withheld(row, col):
        return SUPPRESSED
    if is_missing(row.get(col)):
        # the publisher nulls what it withholds: in a row it marked c / partial, a null figure of
        # the trust's own (not a published comparator, which may simply not exist) is withheld,
        # e.g. goal_progress.share_pct when its numerator is listed
        if col.startswith(COMPARATOR_PREFIXES):
            return NOT_AVAILABLE   # no published comparator for that year: "-", not "no pupils"
        return SUPPRESSED if row.get("suppression_status") in ("c", "partial") else NO_PUPILS
    return None


def round_half_up(x: float, dp: int = 1) -> float:
    q = Decimal(1).scaleb(-dp)
    return float(Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP))


def kind_of(col: str) -> str:
    """How a column's numbers are shown: pct / pp (1 dp), count (integer)."""
    if col.endswith("_pp") or col == "difference_from_national":
        return "pp"
    if col.endswith(("_pct", "_rate")) or col in ("value", "trust_value", "national_value", "percent_achieved"):
        return "pct"
    return "count"


def fmt_number(v, kind: str) -> str:
    if kind == "count":
        f = float(v)
        return f"{int(round(f)):,}" if f.is_integer() else f"{f:,.1f}"
    s = f"{round_half_up(float(v), 1):.1f}"
    return ("+" + s) if kind == "pp" and float(s) > 0 else s


def show(row: dict, col: str, kind: str | None = None) -> str:
    """The text of one cell as both consumers print it."""
    st = state(row, col)
    if st is not None:
        return st
    return fmt_number(row[col], kind or kind_of(col))


def explanation() -> str:
    return ("c = withheld to protect pupils (a small group or count, or a cell that would let a "
            "withheld one be worked out); z = no pupils in the group, or not applicable; - = no figure "
            "published (e.g. no comparator for that year).")


# ---------------------------------------------------------------- labels
def code_labels() -> dict[str, str]:
    """Destination code -> label, from the dbt seed (the one list of codes)."""
    from pipelines.config import destination_codes
    return {c: r["label"] for c, r in destination_codes().items()}


def measure_labels(short: bool = False) -> dict[str, str]:
    """Measure -> its one label (dbt seed measures.csv), in display order: `measure_label` in
    plain words, or `short_label` where space is tight (tables, charts, packs)."""
    from pipelines.config import measures
    return {m: r["short_label" if short else "measure_label"] for m, r in measures().items()}


def benchmark_period(leaving_year: str | None, publication: str | None = None) -> str:
    """The one label of a benchmark's period: the cohort's leaving year, with the publication."""
    if leaving_year and publication:
        return f"{leaving_year} leavers ({publication})"
    return f"{leaving_year} leavers" if leaving_year else (publication or "")


def national_gap(row: dict) -> tuple[float | None, str | None]:
    """The national gap beside a trust gap: the same leaving year if DfE has published it,
    else the latest year it has (destination_gaps carries both); with its leaving year."""
    if not is_missing(row.get("national_gap_pp")):
        return float(row["national_gap_pp"]), row.get("leaving_year")
    if not is_missing(row.get("latest_national_gap_pp")):
        return float(row["latest_national_gap_pp"]), row.get("latest_national_leaving_year")
    return None, None
