"""Read the serving snapshot as the pack's audience (directors and trustees) sees it.

Which mart that is comes from the serving contract (the dbt manifest's `audience` meta): for
an aggregate it is the `_published` twin; a mart directors may not read is never read.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.lib import serving_contract as contract

AUDIENCE = "director"


@dataclass(frozen=True)
class Mart:
    name: str            # the mart as read (e.g. destination_measures_published)
    base: str            # the name consumers ask for
    published: bool
    rows: list[dict]


def served_table(serving_dir: Path | contract.Snapshot, base: str, role: str = AUDIENCE):
    """(mart read, pyarrow Table of its declared columns) for `base` as `role` reads it, or None
    when it is not in the snapshot yet. The one route to a served table: which mart the manifest's
    audience gives, then Snapshot.read (ContractError for a name the manifest or USES lacks, or a
    mart this role may not read)."""
    snap = serving_dir if isinstance(serving_dir, contract.Snapshot) else contract.Snapshot(serving_dir)
    src = contract.source_for(base, role)
    if not src.whole:
        raise contract.ContractError(f"{base}: {role} may not read this mart")
    table = snap.read(src.whole)
    return None if table is None else (src.whole, table)


def read_mart(serving_dir: Path | contract.Snapshot, base: str, where=None) -> Mart | None:
    """The mart as directors read it, or None when it is not in the snapshot (yet). `where` as in
    read_served: only the rows a table prints become Python rows.

    A name the manifest lacks raises ContractError; so does a pupil column (never in the pack)."""
    served = served_table(serving_dir, base, AUDIENCE)
    if served is None:
        return None
    name, table = served
    if where is not None:
        table = table.filter(where)
    rows = table.to_pylist()  # no pyarrow.dataset (imports pandas)
    if rows and contract.PUPIL_COLUMNS & set(rows[0]):
        raise contract.ContractError(f"{name}: has pupil columns, never in the pack")
    return Mart(name, base, name.endswith(contract.PUBLISHED_SUFFIX), rows)


def available(serving_dir: Path) -> set[str]:
    snap = contract.Snapshot(serving_dir)
    return {p.stem for p in snap.root.glob("*.parquet")} if snap.root.is_dir() else set()


class Row(dict):
    """One served row holding exactly the columns the serving contract declares for its mart
    (USES, plus the published twin's suppression columns). Asking for any other column raises
    ContractError, so a consumer can never silently read a column nobody declared."""

    mart = ""

    def __missing__(self, key):
        raise contract.ContractError(f"{self.mart}: column {key!r} is not declared in serving_contract.USES "
                                     f"for {contract.base_name(self.mart)!r} (or the mart does not have it)")

    def get(self, key, default=None):
        return self[key]        # a declared column is always there (None when empty); any other raises


def read_served(serving_dir: Path | contract.Snapshot, base: str, role: str = AUDIENCE,
                where=None) -> list[Row]:
    """Every row of mart `base` as `role` reads it (public statements and governor packs read as
    directors; the data team's reminders as trust_admin): the mart the manifest's audience gives,
    through Snapshot.read (declared columns only; ContractError for a name the manifest or USES
    lacks). [] when it is not in the snapshot yet. Pupil columns are never returned.
    `where` (a pyarrow.compute expression) keeps only the rows a document reads, before they
    become Python rows (the large marts have tens of thousands)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    served = served_table(serving_dir, base, role)
    if served is None:
        return []
    name, table = served
    if where is not None:
        table = table.filter(where)
    table = table.select([c for c in table.column_names if c.lower() not in contract.PUPIL_COLUMNS])
    for i, field in enumerate(table.schema):    # NaN is read as None: in Arrow, not value by value in Python
        if pa.types.is_floating(field.type):
            nan = pc.is_nan(table.column(i))
            if pc.any(nan).as_py():
                table = table.set_column(i, field, pc.if_else(nan, pa.scalar(None, field.type), table.column(i)))
    out = []
    for r in table.to_pylist():  # no pyarrow.dataset (imports pandas)
        row = Row(r)
        row.mart = name
        out.append(row)
    return out
