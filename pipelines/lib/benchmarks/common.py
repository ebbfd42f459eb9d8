"""Shared pieces of the benchmark readers: file decoding, value tokens, year labels,
the trust's breakdown names, caveats and the harmonised row layout."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

# Contract §7 columns first, then the extras the marts and dashboard use.
CONTRACT_COLUMNS = [
    "source", "publication", "is_latest", "leaving_year", "period", "geography_level",
    "geography_code", "key_stage", "institution_group", "breakdown_topic", "breakdown",
    "measure", "value", "suppressed",
]
EXTRA_COLUMNS = [
    "destination_year",   # YYYY-YY academic year in which the activity was measured
    "geography_name",
    "la_code",            # old 3-digit LA number (LA rows, and the school's LA for school rows)
    "version",            # Provisional | Revised | Final as the file says
    "methodology",        # e.g. 'pre-2025', '2025 LEO employment' (never mix in one trend)
    "publication_order",  # sortable vintage of the publication (bigger = newer)
    "value_flag",         # the published token when there is no number: c, low, SUPP, SP, SN ...
    "caveat",
    "source_file",        # path under raw/benchmarks, or 'seed'
]
COLUMNS = CONTRACT_COLUMNS + EXTRA_COLUMNS

SCHEMA: dict[str, pl.DataType] = {c: pl.Utf8 for c in COLUMNS}
SCHEMA.update({"is_latest": pl.Boolean, "value": pl.Float64, "suppressed": pl.Boolean,
               "publication_order": pl.Int64})
# few distinct values repeated on millions of rows: categorical keeps memory and sorting cheap
CATEGORICAL = ["source", "publication", "geography_level", "key_stage", "institution_group", "breakdown_topic",
               "measure", "version", "methodology", "value_flag", "caveat", "source_file"]
SCHEMA.update({c: pl.Categorical for c in CATEGORICAL})

ENGLAND = "E92000001"
REGION_CODES = {  # ONS codes of the nine English regions
    "north east": "E12000001", "north west": "E12000002", "yorkshire and the humber": "E12000003",
    "east midlands": "E12000004", "west midlands": "E12000005", "east of england": "E12000006",
    "london": "E12000007", "south east": "E12000008", "south west": "E12000009",
}

# Tokens that stand for a withheld figure (value null, suppressed true) ...
SUPPRESSED_TOKENS = {"c", "supp", "sn", "low", "sp", "~", "k"}
# ... and tokens that mean there is no figure at all (row dropped).
NO_FIGURE_TOKENS = {"", "z", "x", "na", "n/a", "-", ":", "."}

CAVEATS = {
    "dfe_sustained": ("DfE sustained destination: activity for the first two terms (Oct-Mar) of the year "
                      "after leaving (apprenticeships 6 months in Aug-Jul), from matched administrative data, "
                      "published about two years later. The trust's R3 is an autumn snapshot of the activity "
                      "academies record, so it usually runs higher and has no 'not captured' group."),
    "dfe_2025": ("2025 methodology: employment from LEO (HMRC P45) only and all earlier years recalculated; "
                 "do not mix with pre-2025 publications in one trend."),
    "perf_tables": "Performance tables: percentages published rounded to whole numbers; cohorts under 6 suppressed.",
    "lad": "Counts by local authority district of the provider (state-funded mainstream), not of pupils' residence.",
    "nccis": ("NCCIS: 16-17 year olds (academic age) living in the area, NEET and not known averaged over end of "
              "December, January and February; two year groups, not one leaving cohort. The trust's figure is "
              "its own leavers in the autumn after leaving."),
    "nccis_participation": "NCCIS participation: 16-17 year olds in education or training at the end of March.",
    "sept_guarantee": ("September Guarantee: share of Year 11 and Year 12 leavers offered a suitable place "
                       "for the September after leaving, as recorded by the LA."),
    "lait": "Compiled by DfE's LA Interactive Tool from the underlying release; values as LAIT stores them.",
}


def caveat_for(source: str | None, measure: str | None, methodology: str | None) -> str:
    """The caveat a reader gives a figure of this source / measure / methodology."""
    measure = measure or ""
    if source == "nccis_neet" or (source == "lait" and methodology == "NCCIS"):
        key = ("sept_guarantee" if measure.startswith("september_guarantee")
               else "nccis_participation" if measure.startswith("participation") else "nccis")
        text = CAVEATS[key]
    else:
        text = CAVEATS["dfe_sustained"]
        if source and source.startswith("performance_tables"):
            text += " " + CAVEATS["perf_tables"]
        elif methodology == "2025 LEO employment" and source != "lait":
            text += " " + CAVEATS["dfe_2025"]
    return text + (" " + CAVEATS["lait"] if source == "lait" else "")


@dataclass
class ReadResult:
    """What one reader made of one file."""
    kind: str                                 # format id, e.g. 'ees_ks4_old'
    rows: list[dict] = field(default_factory=list)        # harmonised benchmark rows
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)  # other raw tables (GIAS)
    warnings: list[str] = field(default_factory=list)
    used_files: list[Path] = field(default_factory=list)  # sidecar files it consumed (meta)
    rows_frame: pl.DataFrame | None = None    # figures already as a frame (vectorised readers)

    def measures(self) -> pl.DataFrame:
        parts = [frame(self.rows)] if self.rows or self.rows_frame is None else []
        if self.rows_frame is not None:
            parts.append(self.rows_frame)
        return pl.concat(parts, how="vertical_relaxed") if len(parts) > 1 else parts[0]


class BenchmarkFileError(ValueError):
    """A recognised file that cannot be read; the message says why and what to do."""


def decode_bytes(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else cp1252; a BOM is dropped either way."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def read_text(path: Path) -> str:
    return decode_bytes(Path(path).read_bytes())


def read_csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header (BOM and surrounding spaces stripped) and rows as dicts of strings."""
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        return [], []
    rows = []
    for rec in reader:
        if not rec or all(not v.strip() for v in rec):
            continue
        rows.append({h: (rec[i].strip() if i < len(rec) else "") for i, h in enumerate(header)})
    return header, rows


def parse_value(text: str | float | int | None) -> tuple[float | None, bool, str | None, bool]:
    """Published cell -> (value, suppressed, flag, keep). '81%' -> 81.0; 'c' -> suppressed;
    'z'/'NA'/'-' -> no figure (keep False)."""
    if text is None:
        return None, False, None, False
    if isinstance(text, (int, float)):
        return float(text), False, None, True
    s = str(text).strip()
    low = s.lower()
    if low in SUPPRESSED_TOKENS:
        return None, True, s, True
    if low in NO_FIGURE_TOKENS:
        return None, False, s or None, False
    num = s.rstrip("%").replace(",", "").strip()
    try:
        return float(num), False, None, True
    except ValueError:
        return None, False, s, False


def year_label(start: int) -> str:
    """2022 -> '2022-23'."""
    return f"{start}-{(start + 1) % 100:02d}"


def ees_period_start(period: str) -> int:
    """EES academic-year time_period '202223' -> 2022."""
    p = str(period).strip()
    if not re.fullmatch(r"\d{6}", p):
        raise ValueError(f"not an EES academic year time_period: {period!r}")
    return int(p[:4])


# --- the trust's breakdown names ---------------------------------------------------------

TOPICS = {
    "total": "Total",
    "disadvantage status": "Disadvantage",
    "disadvantage": "Disadvantage",
    "sen provision": "SEN provision",
    "gender": "Sex",
    "sex": "Sex",
    "ethnicity major": "Ethnicity major",
    "disadvantage status and gender": "Disadvantage and sex",
    "disadvantage status and sex": "Disadvantage and sex",
    "disadvantage status and ethnicity major": "Disadvantage and ethnicity major",
    "fsm status": "FSM",
}

SEN_NAMES = {
    "no identified sen": "No SEN",
    "no sen": "No SEN",
    "school action/sen support": "SEN support",
    "sen support": "SEN support",
    "statement of sen/education health and care plan": "EHC plan",
    "sen with ehc plan or statement": "EHC plan",
    "ehc plan": "EHC plan",
    "statement of sen/ehc plan": "EHC plan",
}
SEX_NAMES = {"male": "Male", "female": "Female", "boys": "Male", "girls": "Female"}
DIS_NAMES = {"disadvantaged": "Disadvantaged", "not disadvantaged": "Not disadvantaged",
             "disadvantage": "Disadvantaged", "other": "Not disadvantaged"}


def trust_breakdown(topic: str, breakdown: str) -> tuple[str, str]:
    """DfE topic/breakdown -> the trust's names; other topics keep DfE's own labels."""
    t_raw, b_raw = (topic or "").strip(), (breakdown or "").strip()
    t = TOPICS.get(t_raw.lower(), t_raw)
    b_low = b_raw.lower()
    if t == "Total":
        return "Total", "Total"
    if t == "Disadvantage":
        return t, DIS_NAMES.get(b_low, b_raw)
    if t == "SEN provision":
        return t, SEN_NAMES.get(b_low, b_raw)
    if t == "Sex":
        return t, SEX_NAMES.get(b_low, b_raw)
    if t in ("Disadvantage and sex", "Disadvantage and ethnicity major"):
        m = re.match(r"(not disadvantaged|disadvantaged)\s+(.*)$", b_raw, flags=re.I)
        if m:
            dis = "Not disadvantaged" if m.group(1).lower().startswith("not") else "Disadvantaged"
            rest = m.group(2).strip()
            rest = SEX_NAMES.get(rest.lower(), rest) if t == "Disadvantage and sex" else rest
            return t, f"{dis} {rest}"
    return t, b_raw


INSTITUTION_GROUPS = {
    "state-funded mainstream schools": "mainstream",
    "state-funded mainstream schools & colleges": "mainstream",
    "state-funded mainstream schools and colleges": "mainstream",
    "state-funded mainstream & special schools": "mainstream and special",
    "total state-funded mainstream and special": "mainstream and special",
    "state-funded mainstream and special schools": "mainstream and special",
    "state-funded (inc. non-maintained) special schools": "special",
    "state-funded (inc. non-maintained) special": "special",
    "special": "special",
    "alternative provision": "alternative provision",
    "total": "all",
}


def institution_group(label: str) -> str | None:
    return INSTITUTION_GROUPS.get((label or "").strip().lower())


_EMPTY_ROW = dict.fromkeys(COLUMNS)


def make_row(**kw) -> dict:
    row = _EMPTY_ROW.copy()
    row.update(kw)
    return row


def parse_cells(cell: pl.Expr) -> list[pl.Expr]:
    """Vectorised parse_value: value, suppressed, value_flag and keep columns from a text column."""
    s = cell.cast(pl.Utf8).str.strip_chars()
    low = s.str.to_lowercase()
    num = s.str.strip_chars_end("%").str.replace_all(",", "").str.strip_chars().cast(pl.Float64, strict=False)
    sup = low.is_in(list(SUPPRESSED_TOKENS))
    return [
        pl.when(sup).then(None).otherwise(num).alias("value"),
        sup.fill_null(False).alias("suppressed"),
        pl.when(sup).then(s).otherwise(None).alias("value_flag"),
        (sup | num.is_not_null()).fill_null(False).alias("_keep"),
    ]


def frame(rows: list[dict]) -> pl.DataFrame:
    """Rows -> a frame with the fixed benchmark schema (column order as COLUMNS)."""
    if not rows:
        return pl.DataFrame(schema=SCHEMA)
    text = {c: (pl.Utf8 if t == pl.Categorical else t) for c, t in SCHEMA.items()}
    return pl.DataFrame(rows, schema=text, strict=False).select([pl.col(c).cast(SCHEMA[c]) for c in COLUMNS])
