"""The data layer scopes every read: URNs for academies, published variants for directors."""
import pandas as pd
import pytest

from dashboards.lib import data
from dashboards.lib.users import User
from pipelines.lib.serving_contract import ContractError
from dash_fixture_data import N1, N2, N3, U1, U2, U3  # noqa: F401

ADMIN = User("admin", "trust_admin")
DIRECTOR = User("director", "director")
ALDER = User("alder", "academy", (U1,))
MULTI = User("multi", "academy", (U2, U3))


def _serving(d):
    return d / "warehouse" / "serving"


def test_academy_sees_only_own_rows_and_published_trust_rows(demo_dir):
    s = _serving(demo_dir)
    got = data.load(ALDER, "destination_measures", s)
    df = got.frame
    acad = df[df["level"] == "academy"]
    assert set(acad["academy_urn"]) == {U1}
    trust = df[df["level"] == "trust"]
    pub = pd.read_parquet(s / "destination_measures_published.parquet")
    pub_trust = pub[pub["level"] == "trust"]
    assert len(trust) == len(pub_trust)
    # trust rows come from the suppressed twin (same nulls), not the raw mart
    assert trust["cohort"].isna().sum() == pub_trust["cohort"].isna().sum()
    mine = data.load(MULTI, "destination_measures", s).frame
    assert set(mine.loc[mine["level"] == "academy", "academy_urn"]) == {U2, U3}


def test_academy_pupil_rows_are_own_urns_only(demo_dir):
    s = _serving(demo_dir)
    risk = data.load(ALDER, "neet_risk_pupils", s).frame
    full = pd.read_parquet(s / "neet_risk_pupils.parquet")
    assert len(risk) == (full["academy_urn"] == U1).sum() > 0
    assert set(risk["academy_urn"]) == {U1}


def test_director_gets_published_variant_and_no_pupils(demo_dir):
    s = _serving(demo_dir)
    dm = data.load(DIRECTOR, "destination_measures", s)
    assert dm.published
    pub = pd.read_parquet(s / "destination_measures_published.parquet")
    assert dm.frame["positive_pct"].isna().sum() == pub["positive_pct"].isna().sum() > 0
    assert not data.load(DIRECTOR, "neet_risk_pupils", s).ok
    # asking for the published name directly changes nothing
    assert data.load(DIRECTOR, "destination_measures_published", s).published


def test_access_comes_from_the_manifest_audience(demo_dir, monkeypatch):
    """Take `director` out of a mart's declared audience and directors lose it: no Python allow-list."""
    from pipelines.lib import dbt_manifest
    s = _serving(demo_dir)
    assert data.load(DIRECTOR, "return_status", s).ok
    real = dbt_manifest.mart_audience
    monkeypatch.setattr(dbt_manifest, "mart_audience",
                        lambda n: frozenset() if n == "return_status" else real(n))
    data._SCOPED.clear()
    got = data.load(DIRECTOR, "return_status", s)
    assert not got.ok and "not available" in got.reason
    assert data.load(ADMIN, "return_status", s).ok
    data._SCOPED.clear()


def test_a_mart_the_manifest_lacks_fails_loudly(demo_dir, tmp_path):
    """A renamed or invented mart is an error, never a quiet 'not published'."""
    s = _serving(demo_dir)
    for role in (ADMIN, DIRECTOR, ALDER):
        with pytest.raises(ContractError):
            data.load(role, "neet_by_academy", s)


def test_a_renamed_column_fails_loudly(demo_dir, tmp_path):
    s = tmp_path / "serving"
    s.mkdir()
    pub = pd.read_parquet(_serving(demo_dir) / "neet_la_comparator.parquet")
    pub.rename(columns={"la_neet_pct": "la_neet_rate"}).to_parquet(s / "neet_la_comparator.parquet")
    with pytest.raises(ContractError, match="la_neet_pct"):
        data.load(ADMIN, "neet_la_comparator", s)


def test_admin_published_view_narrows(demo_dir):
    s = _serving(demo_dir)
    assert not data.load(ADMIN, "destination_measures", s).published
    assert data.load(ADMIN, "destination_measures", s, published_view=True).published


def test_cache_follows_new_publish(tmp_path, demo_dir):
    s = tmp_path / "serving"
    s.mkdir()
    src = pd.read_parquet(_serving(demo_dir) / "neet_risk_pupils.parquet")
    one = src[src["academy_urn"] == U1].head(1)
    one.to_parquet(s / "neet_risk_pupils.parquet")
    assert len(data.load(ADMIN, "neet_risk_pupils", s).frame) == 1
    tmp = s / ".m.tmp"
    pd.concat([one, src[src["academy_urn"] != U1].head(2)]).to_parquet(tmp)
    tmp.replace(s / "neet_risk_pupils.parquet")
    assert len(data.load(ADMIN, "neet_risk_pupils", s).frame) == 3
    assert data.load(ALDER, "neet_risk_pupils", s).frame["academy_urn"].tolist() == [U1]


def test_unknown_role_denied(demo_dir):
    with pytest.raises(data.AccessDenied):
        data.load(User("x", "guest"), "destination_measures", _serving(demo_dir))
