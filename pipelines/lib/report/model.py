"""The pack's content model: tables, sections, number formatting. No I/O."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

SUPPRESSED = "c"
NOT_AVAILABLE = "-"
NO_PUPILS = "z"


def round_half_up(x: float, dp: int = 1) -> float:
    q = Decimal(1).scaleb(-dp)
    return float(Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP))


def pct_text(x: float, dp: int = 0) -> str:
    v = round_half_up(x, dp)
    return f"{v:.{dp}f}"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"      # text | count | pct | pp | number
    width: float = 1.0      # relative width in the PDF


@dataclass
class Table:
    id: str                  # XLSX sheet name (<= 31 chars)
    title: str
    columns: list[Column]
    rows: list[list]         # str | int | float | None (not available) | SUPPRESSED
    notes: list[str] = field(default_factory=list)
    group_column: int | None = None   # rows starting a new value here get a rule in the PDF
    row_kinds: dict[int, str] = field(default_factory=dict)   # row index -> kind of its numbers (e.g. count)

    def kind(self, i: int, col: Column) -> str:
        return self.row_kinds.get(i, col.kind) if col.kind != "text" else "text"

    def display(self, value, col: Column, i: int = -1) -> str:
        return display(value, self.kind(i, col))

    def cell_values(self) -> list[list]:
        """Values as the XLSX stores them: numbers rounded as shown, `c`, `-`, text."""
        return [[xlsx_value(v, self.kind(i, c)) for v, c in zip(r, self.columns)] for i, r in enumerate(self.rows)]


def display(value, kind: str) -> str:
    if value is None:
        return NOT_AVAILABLE
    if isinstance(value, str):
        return value
    if kind == "count":
        return f"{int(value):,}"
    if kind in ("pct", "pp", "number"):
        v = round_half_up(value, 1)
        s = f"{v:.1f}"
        return ("+" + s) if kind == "pp" and v > 0 else s
    return str(value)


def xlsx_value(value, kind: str):
    if value is None:
        return NOT_AVAILABLE
    if isinstance(value, str):
        return value
    if kind == "count":
        return int(value)
    if kind in ("pct", "pp", "number"):
        return round_half_up(value, 1)
    return value


@dataclass
class Chart:
    path: str                # PNG file
    caption: str


@dataclass
class Section:
    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    unavailable: str | None = None       # plain reason when the section has no data this year
    new_page: bool = True


@dataclass
class Finding:
    text: str
    figures: dict            # the numbers behind the sentence (for the XLSX and tests)


@dataclass
class Pack:
    year: str
    trust_name: str
    round: str
    findings: list[Finding]
    sections: list[Section]
    sources: list[str]
    generated_at: str
    xlsx_only: dict[str, Table] = field(default_factory=dict)   # section id -> one sheet for its tables
    key_table: Table | None = None       # printed on page one under the findings

    def tables(self) -> list[Table]:
        """The tables as the workbook holds them (a section may merge its tables into one sheet)."""
        out = [self.key_table] if self.key_table else []
        for s in self.sections:
            out += [self.xlsx_only[s.id]] if s.id in self.xlsx_only else s.tables
        return out
