"""Paths and trust configuration. Every command resolves the data directory here."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# the warehouse file in a data directory's warehouse/ folder; dbt names it by this relative path (dbt_env)
WAREHOUSE_FILE = "warehouse.duckdb"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"

for _k, _v in {"DO_NOT_TRACK": "1", "GX_ANALYTICS_ENABLED": "false",
               "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
               "DAGSTER_DISABLE_TELEMETRY": "1"}.items():
    os.environ.setdefault(_k, _v)


def env_whole_number(name: str, what: str) -> int | None:
    """The whole number in env `name` (None when unset or blank); a clear error naming the variable
    and `what` it counts otherwise."""
    env = os.environ.get(name, "").strip()
    if not env:
        return None
    try:
        return int(env)
    except ValueError:
        raise ValueError(f"{name}={env!r}: expected a whole number of {what}") from None


def data_dir() -> Path:
    """The data directory (DESTINATIONS_DATA_DIR, default ./data), absolute."""
    return Path(os.environ.get("DESTINATIONS_DATA_DIR", "data")).expanduser().resolve()


def config_dir() -> Path:
    """Trust configuration: DESTINATIONS_CONFIG_DIR, else <data>/config if it exists, else ./config."""
    env = os.environ.get("DESTINATIONS_CONFIG_DIR")
    if env:
        return Path(env).expanduser().resolve()
    local = data_dir() / "config"
    return local if local.is_dir() else PROJECT_ROOT / "config"


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def raw(self) -> Path: return self.root / "raw"
    @property
    def academies_csv(self) -> Path: return self.raw / "academies.csv"
    @property
    def returns(self) -> Path: return self.raw / "returns"
    @property
    def fsq(self) -> Path: return self.raw / "fsq"
    @property
    def compass(self) -> Path: return self.raw / "compass"
    @property
    def benchmarks(self) -> Path: return self.raw / "benchmarks"
    @property
    def quarantine(self) -> Path: return self.root / "quarantine"
    @property
    def feedback(self) -> Path: return self.root / "feedback"
    @property
    def warehouse_dir(self) -> Path: return self.root / "warehouse"
    @property
    def warehouse(self) -> Path: return self.warehouse_dir / WAREHOUSE_FILE
    @property
    def serving(self) -> Path: return self.warehouse_dir / "serving"
    @property
    def dbt_dir(self) -> Path: return self.warehouse_dir / "dbt"
    @property
    def reports(self) -> Path: return self.root / "reports"
    @property
    def audit_log(self) -> Path: return self.root / "audit" / "submissions.jsonl"


def paths(root: Path | None = None) -> Paths:
    return Paths((root or data_dir()).resolve())


def dbt_env(p: Paths) -> None:
    """Point dbt (a subprocess that inherits the environment) at this data directory: its
    warehouse, its own target/log folders (two data directories never share dbt state) and the
    per-block disclosure decisions of its last build (int_disclosure__cells).

    The warehouse is named relative to the folder dbt runs in (DESTINATIONS_DBT_WORKDIR, where
    lib/dbt_cli.py starts dbt), so dbt's profile is the same for every data directory and a
    new or moved one does not make dbt parse the whole project again."""
    os.environ.update({
        "DESTINATIONS_DATA_DIR": str(p.root),
        "DESTINATIONS_WAREHOUSE_PATH": WAREHOUSE_FILE,
        "DESTINATIONS_DBT_WORKDIR": str(p.warehouse.parent),
        "DBT_LOG_PATH": str(p.dbt_dir / "logs"),
        "DBT_TARGET_PATH": str(p.dbt_dir / "target"),
        "DESTINATIONS_DISCLOSURE_CACHE": str(p.warehouse_dir / "disclosure-cache.sqlite"),
    })


@lru_cache(maxsize=32)
def _parse_yaml(path: str, mtime_ns: int, size: int) -> dict:
    """Parsed once per file version; never handed out (callers get copies or frozen values)."""
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def _config_source(name: str) -> tuple[str, int, int]:
    """(path, mtime_ns, size) of a config file: the trust's copy if it has one, else the shipped default.
    The cache key of everything parsed from it: an edited file is read again."""
    p = config_dir() / name
    try:
        st = p.stat()
    except FileNotFoundError:
        p = PROJECT_ROOT / "config" / name
        st = p.stat()
    return str(p), st.st_mtime_ns, st.st_size


def _load_yaml(name: str) -> dict:
    """A config file, cached until the file changes; callers get a fresh copy they may modify."""
    import copy
    return copy.deepcopy(_parse_yaml(*_config_source(name)))


def trust_config() -> dict:
    return _load_yaml("trust.yaml")


def trust_section(key: str):
    """One top-level section of trust.yaml (a fresh copy: the cached file is never shared)."""
    import copy
    return copy.deepcopy(_parse_yaml(*_config_source("trust.yaml")).get(key))


@dataclass(frozen=True)
class Round:
    id: str
    kind: str  # intended | actual
    label: str
    due: str  # MM-DD
    due_year_offset: int

    def due_date(self, leaving_year: str) -> date:
        start = int(leaving_year[:4])
        month, day = (int(x) for x in self.due.split("-"))
        return date(start + self.due_year_offset, month, day)


@lru_cache(maxsize=8)
def _rounds(source: tuple[str, int, int]) -> tuple[Round, ...]:
    return tuple(Round(r["id"], r["kind"], r.get("label", r["id"]), str(r["due"]), int(r.get("due_year_offset", 0)))
                 for r in _parse_yaml(*source)["rounds"])


def rounds() -> list[Round]:
    return list(_rounds(_config_source("trust.yaml")))   # frozen Rounds, parsed once per file version


def round_ids() -> list[str]:
    return [r.id for r in rounds()]


def leaving_year_label(start_year: int) -> str:
    """2024 -> '2024-25'."""
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def is_leaving_year(text: str) -> bool:
    if len(text) != 7 or text[4] != "-" or not (text[:4].isdigit() and text[5:].isdigit()):
        return False
    return leaving_year_label(int(text[:4])) == text


@lru_cache(maxsize=1)
def _codes_cached(mtime: float) -> dict[str, dict]:
    import csv
    with open(SEEDS_DIR / "destination_codes.csv", encoding="utf-8") as fh:
        return {row["destination_code"]: row for row in csv.DictReader(fh)}


def destination_codes() -> dict[str, dict]:
    """The code list (dbt seed destination_codes.csv), keyed by code."""
    p = SEEDS_DIR / "destination_codes.csv"
    return _codes_cached(p.stat().st_mtime)


@lru_cache(maxsize=1)
def _measures_cached(mtime: float) -> dict[str, dict]:
    import csv
    with open(SEEDS_DIR / "measures.csv", encoding="utf-8") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: int(r["measure_order"]))
    return {r["measure"]: r for r in rows}


def measures() -> dict[str, dict]:
    """The destination measures (dbt seed measures.csv) in display order, keyed by measure."""
    p = SEEDS_DIR / "measures.csv"
    return _measures_cached(p.stat().st_mtime)


DEFAULT_FIRST_LEAVING_YEAR = "2010-11"


def first_leaving_year() -> str:
    """The oldest leaving year the pipeline loads (`first_leaving_year` in trust.yaml, default 2010-11)."""
    text = str(trust_section("first_leaving_year") or DEFAULT_FIRST_LEAVING_YEAR).strip()
    if not is_leaving_year(text):
        raise ValueError(f"config/trust.yaml: first_leaving_year must look like 2010-11, got {text!r}")
    return text


def leaving_years(today: date | None = None) -> list[str]:
    """Every leaving year the pipeline loads: the first configured one up to the year after the current."""
    today = today or date.today()
    current_start = today.year if today.month >= 9 else today.year - 1
    first = int(first_leaving_year()[:4])
    return [leaving_year_label(y) for y in range(first, current_start + 2)]


def leaving_year_problem(text: str, today: date | None = None) -> str | None:
    """None when the pipeline loads this leaving year, else why not (plain English)."""
    if not is_leaving_year(str(text or "")):
        return f"{text!r} is not a leaving year like 2024-25"
    years = leaving_years(today)
    if text not in years:
        return (f"leaving year {text} is outside the years the pipeline loads ({years[0]} to {years[-1]}); "
                f"the first year is `first_leaving_year` in config/trust.yaml")
    return None


def intake_limits() -> dict:
    """`intake:` in trust.yaml: file limits (max_file_mb, max_unpacked_mb, max_cells, ...)."""
    return dict(trust_section("intake") or {})
