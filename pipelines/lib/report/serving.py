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


def read_mart(serving_dir: Path | contract.Snapshot, base: str) -> Mart | None:
    """The mart as directors read it, or None when it is not in the snapshot (yet).

    A name the manifest lacks raises ContractError."""
    snap = serving_dir if isinstance(serving_dir, contract.Snapshot) else contract.Snapshot(serving_dir)
    src = contract.source_for(base, AUDIENCE)
    if not src.whole:
        raise contract.ContractError(f"{base}: directors may not read this mart, so the pack cannot")
    table = snap.read(src.whole)
    if table is None:
        return None
    rows = table.to_pylist()  # no pyarrow.dataset (imports pandas)
    if rows and contract.PUPIL_COLUMNS & set(rows[0]):
        raise contract.ContractError(f"{src.whole}: has pupil columns, never in the pack")
    return Mart(src.whole, base, src.whole.endswith(contract.PUBLISHED_SUFFIX), rows)


def available(serving_dir: Path) -> set[str]:
    snap = contract.Snapshot(serving_dir)
    return {p.stem for p in snap.root.glob("*.parquet")} if snap.root.is_dir() else set()


def read_rows(path: Path) -> list[dict]:
    """Every row of one served mart file (public statements, governor packs, reminders), with
    pupil columns dropped. The file's mart must be in the dbt manifest (ContractError if not)."""
    import math

    import pyarrow.parquet as pq

    name = Path(path).stem
    if name not in contract.manifest_marts():
        raise contract.ContractError(f"mart {name!r} is not in the dbt manifest (renamed or removed?)")
    rows = pq.ParquetFile(path).read().to_pylist()  # no pyarrow.dataset (imports pandas)
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()
             if k.lower() not in contract.PUPIL_COLUMNS} for r in rows]
