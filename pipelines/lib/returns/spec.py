"""What a destination return contains: columns, header matching, accepted values.

Contract §3. Everything here is a plain function or constant so the reader, the
validator, the template and the tests share one definition.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml

import pipelines.config as cfg
from pipelines.lib.intake import cells


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    required: bool
    kind: str          # upn | year_group | sex | bool | sen | destination | ethnicity | route | text | level | sg | date
    description: str
    personal: bool = False  # identifies the pupil beyond the UPN: own academy's NEET-risk list only




COLUMNS: list[ColumnSpec] = [
    ColumnSpec("upn", True, "upn", "13-character Unique Pupil Number (temporary UPNs accepted and flagged)"),
    ColumnSpec("year_group", True, "year_group", "11, 12, 13 or 14"),
    ColumnSpec("sex", True, "sex", "M or F (Male / Female accepted)"),
    ColumnSpec("disadvantaged", True, "bool", "Y or N: eligible for pupil premium (ever-6 FSM, looked after, previously looked after)"),
    ColumnSpec("sen_provision", True, "sen", "N none, K SEN support, E EHC plan"),
    ColumnSpec("destination_code", True, "destination", "destination code from the code list (or its label)"),
    ColumnSpec("fsm_eligible", False, "bool", "Y or N"),
    ColumnSpec("looked_after", False, "bool", "Y or N: looked after or care leaver"),
    ColumnSpec("ethnicity", False, "ethnicity", "CBDS ethnicity code, e.g. WBRI, BAFR"),
    ColumnSpec("route", False, "route", "occupational route of the course or apprenticeship"),
    ColumnSpec("provider", False, "text", "name of the college, sixth form, employer or university"),
    ColumnSpec("provider_id", False, "text", "URN or UKPRN of the provider"),
    ColumnSpec("level", False, "level", "qualification level: 1, 2, 3 or 4+"),
    ColumnSpec("september_guarantee", False, "sg", "offer_made, no_offer, not_appropriate or not_recorded (intended rounds)"),
    ColumnSpec("consent_follow_up", False, "bool", "Y or N: consent to be contacted after leaving"),
    ColumnSpec("date_ascertained", False, "date", "date the destination was confirmed, e.g. 2025-10-01"),
    ColumnSpec("pupil_name", False, "text", "pupil's name or admission number, so the academy's careers "
               "leader can act on its NEET-risk list; shown only to the academy's own staff and the "
               "trust's data team, never in figures, packs or exports for directors", personal=True),
]
COLUMN_BY_NAME = {c.name: c for c in COLUMNS}
REQUIRED = [c.name for c in COLUMNS if c.required]
OPTIONAL = [c.name for c in COLUMNS if not c.required]
TEXT_COLUMNS = ["provider", "provider_id", "pupil_name"]  # free text: formula-injection neutralised
PERSONAL = frozenset(c.name for c in COLUMNS if c.personal)  # never echoed in feedback, cleared by retention

SEPTEMBER_GUARANTEE = ["offer_made", "no_offer", "not_appropriate", "not_recorded"]
LEVELS = ["1", "2", "3", "4+"]
SEN_VALUES = {"N": "No SEN", "K": "SEN support", "E": "EHC plan"}

_NORM_RE = re.compile(r"[\s_\-\u00a0\ufeff]+")


def norm_header(text: object) -> str:
    """Header key: lower case, spaces/underscores/hyphens (and BOM/NBSP) removed."""
    return _NORM_RE.sub("", str(text if text is not None else "")).strip().lower()


def aliases_path() -> Path:
    p = cfg.config_dir() / "header_aliases.yaml"
    return p if p.exists() else cfg.PROJECT_ROOT / "config" / "header_aliases.yaml"


def load_aliases(path: Path | None = None) -> dict[str, str]:
    """normalised header -> column name, from the column names plus config/header_aliases.yaml."""
    p = path or aliases_path()
    text = p.read_text(encoding="utf-8") if p.exists() else ""
    return _aliases_from_text(text)


@lru_cache(maxsize=8)
def _aliases_from_text(text: str) -> dict[str, str]:
    mapping = {norm_header(c.name): c.name for c in COLUMNS}
    data = yaml.safe_load(text) or {} if text else {}
    if not isinstance(data, dict):
        raise ValueError("config/header_aliases.yaml must map each column name to a list of headers")
    for column, names in data.items():
        if column not in COLUMN_BY_NAME:
            raise ValueError(f"config/header_aliases.yaml: '{column}' is not a return column "
                             f"(columns: {', '.join(COLUMN_BY_NAME)})")
        for alias in names or []:
            key = norm_header(alias)
            if key in mapping and mapping[key] != column:
                raise ValueError(f"config/header_aliases.yaml: header '{alias}' is listed under both "
                                 f"'{mapping[key]}' and '{column}'")
            mapping[key] = column
    return mapping


# ---------------------------------------------------------------- value parsing
# Each parser takes the cell text (already stripped, never empty) and returns the
# canonical value or None when the value is not allowed.

_TRUE = {"y", "yes", "true", "t", "1", "1.0"}
_FALSE = {"n", "no", "false", "f", "0", "0.0"}


def parse_bool(v: str) -> bool | None:
    s = v.strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    return None


def parse_sex(v: str) -> str | None:
    s = v.strip().lower()
    return {"m": "M", "male": "M", "f": "F", "female": "F"}.get(s)


def parse_sen(v: str) -> str | None:
    s = re.sub(r"[^a-z]", "", v.strip().lower())
    table = {
        "n": "N", "none": "N", "nosen": "N", "no": "N", "nosend": "N", "notsen": "N",
        "k": "K", "sensupport": "K", "support": "K", "sendsupport": "K",
        "e": "E", "ehc": "E", "ehcp": "E", "ehcplan": "E", "educationhealthandcareplan": "E",
        "educationhealthcareplan": "E",
    }
    return table.get(s)


def parse_year_group(v: str) -> int | None:
    s = v.strip().lower().replace("year", "").replace("yr", "").replace("y", "").strip()
    try:
        f = float(s)
    except ValueError:
        return None
    if f != int(f) or int(f) not in (11, 12, 13, 14):
        return None
    return int(f)


def _numeric_text(v: str) -> str:
    """'210.0' -> '210' (Excel numbers)."""
    s = v.strip()
    if re.fullmatch(r"\d+\.0+", s):
        return s.split(".")[0]
    return s


@lru_cache(maxsize=4)
def _destination_lookup(mtime: float) -> dict[str, str]:
    codes = cfg.destination_codes()
    out: dict[str, str] = {}
    for code, row in codes.items():
        out[code.lower()] = code
        out[_label_key(row["label"])] = code
    out["undecided"] = "UND"
    return out


def _label_key(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", label.lower()).strip()


def destination_lookup() -> dict[str, str]:
    return _destination_lookup((cfg.SEEDS_DIR / "destination_codes.csv").stat().st_mtime)


def parse_destination(v: str) -> str | None:
    """Code ('210', 210.0, 'und'), its label, or 'code - label' as in the template drop-down."""
    lookup = destination_lookup()
    s = _numeric_text(v)
    hit = lookup.get(s.lower())
    if hit:
        return hit
    m = re.match(r"^\s*([0-9]{3}|und)\s*[-:–]", s, flags=re.I)
    if m:
        return lookup.get(m.group(1).lower())
    return lookup.get(_label_key(s))


def is_pre16_code(v: str) -> bool:
    s = _numeric_text(v)
    return bool(re.fullmatch(r"1[0-9]{2}", s))


@lru_cache(maxsize=1)
def ethnicity_codes() -> dict[str, str]:
    with open(cfg.SEEDS_DIR / "ethnicity_major.csv", encoding="utf-8") as fh:
        return {r["ethnicity_code"].upper(): r["ethnicity_label"] for r in csv.DictReader(fh)}


def parse_ethnicity(v: str) -> str | None:
    s = v.strip().upper()
    return s if s in ethnicity_codes() else None


@lru_cache(maxsize=1)
def routes() -> list[str]:
    with open(cfg.SEEDS_DIR / "routes.csv", encoding="utf-8") as fh:
        return [r["route"] for r in csv.DictReader(fh)]


def parse_route(v: str) -> str | None:
    key = _label_key(v.replace("&", " and "))
    for r in routes():
        if _label_key(r) == key:
            return r
    return None


def parse_level(v: str) -> str | None:
    s = _numeric_text(v).lower().replace("level", "").replace("l", "").strip()
    if s in ("1", "2", "3"):
        return s
    if s in ("4+", "4", "5", "6", "7", "8", "4plus", "4 +"):
        return "4+"
    return None


def parse_sg(v: str) -> str | None:
    s = re.sub(r"[^a-z]+", "_", v.strip().lower()).strip("_")
    return s if s in SEPTEMBER_GUARANTEE else None


parse_date = cells.parse_date   # the one date parser of the intake


def parse_text(v: str) -> str:
    return _numeric_text(v)


KIND_ALLOWED = {
    "year_group": "11, 12, 13 or 14",
    "sex": "M or F (or Male / Female)",
    "bool": "Y or N (Yes / No, True / False, 1 / 0 also accepted)",
    "sen": "N (no SEN), K (SEN support) or E (EHC plan)",
    "destination": "a destination code from the code list, e.g. 210, 310, 540 (or its label)",
    "ethnicity": "a CBDS ethnicity code such as WBRI, BAFR, AIND",
    "route": "one of the 15 occupational routes, Academic or Not applicable",
    "level": "1, 2, 3 or 4+",
    "sg": "offer_made, no_offer, not_appropriate or not_recorded",
    "date": "a date such as 2025-10-01 or 01/10/2025",
}

PARSERS = {
    "year_group": parse_year_group, "sex": parse_sex, "bool": parse_bool, "sen": parse_sen,
    "destination": parse_destination, "ethnicity": parse_ethnicity, "route": parse_route,
    "level": parse_level, "sg": parse_sg, "date": parse_date, "text": parse_text,
}
