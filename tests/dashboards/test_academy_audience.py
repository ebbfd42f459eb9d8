"""What an academy user can see of the linked aggregate marts is within what the attack harness
models for an academy audience: every published cell, plus every cell of its own academies'
rows (pipelines/lib/disclosure/audit.py, engine.audiences). Nothing else: no other academy's
unpublished row, no unpublished trust row."""
import pandas as pd

from dash_fixture_data import U1, U2, U3  # noqa: F401
from dashboards.lib import data
from dashboards.lib.users import User
from pipelines.lib.disclosure.structure import MARTS

ALDER = User("alder", "academy", (U1,))
MULTI = User("multi", "academy", (U2, U3))


def _key(df: pd.DataFrame, keys) -> pd.Series:
    return df[list(keys)].astype("string").fillna("~").agg("|".join, axis=1)


def test_academy_view_of_every_linked_mart_is_published_or_own(demo_dir):
    s = demo_dir / "warehouse" / "serving"
    checked = 0
    for spec in MARTS:
        if not (s / f"{spec.name}.parquet").exists():
            continue
        full = pd.read_parquet(s / f"{spec.name}.parquet")
        pub = pd.read_parquet(s / f"{spec.published}.parquet")
        for user in (ALDER, MULTI):
            got = data.load(user, spec.name, s).frame
            if got is None:
                continue
            own = got["level"].eq("academy") & got["academy_urn"].isin(user.urns)
            # rows of no own academy are published rows, exactly as published (same nulls)
            other = got[~own]
            assert not other["level"].eq("academy").any(), (spec.name, user.username)
            want = pub[pub["level"].ne("academy")]
            assert len(other) == len(want), (spec.name, user.username)
            # (a measure the dashboard does not read, e.g. neet_active, is not in its frame at all)
            for m in (m for m in spec.measures if m in got.columns):
                assert other[m].isna().sum() == want[m].isna().sum(), (spec.name, m, user.username)
            # own rows are the academy's own rows of the unpublished mart
            mine = full[full["level"].eq("academy") & full["academy_urn"].isin(user.urns)]
            assert set(_key(got[own], spec.keys)) == set(_key(mine, spec.keys)), (spec.name, user.username)
            checked += 1
    assert checked >= 2 * 6, checked
