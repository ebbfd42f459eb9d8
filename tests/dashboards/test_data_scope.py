"""The data layer scopes every read: URNs for academies, published variants for directors."""
import pandas as pd

from dashboards.lib import data
from dashboards.lib.users import User

ADMIN = User("admin", "trust_admin")
DIRECTOR = User("director", "director")
ALDER = User("alder", "academy", ("100001",))
MULTI = User("multi", "academy", ("100002", "100003"))


def _serving(d):
    return d / "warehouse" / "serving"


def test_academy_sees_only_own_rows_and_published_trust_rows(demo_dir):
    s = _serving(demo_dir)
    got = data.load(ALDER, "destination_measures", s)
    df = got.frame
    acad = df[df["level"] == "academy"]
    assert set(acad["academy_urn"]) == {"100001"}
    trust = df[df["level"] == "trust"]
    pub = pd.read_parquet(s / "destination_measures_published.parquet")
    pub_trust = pub[pub["level"] == "trust"]
    assert len(trust) == len(pub_trust)
    # trust rows come from the suppressed twin (same nulls), not the raw mart
    assert trust["cohort"].isna().sum() == pub_trust["cohort"].isna().sum()
    mine = data.load(MULTI, "destination_measures", s).frame
    assert set(mine.loc[mine["level"] == "academy", "academy_urn"]) == {"100002", "100003"}


def test_academy_pupil_rows_are_own_urns_only(demo_dir):
    s = _serving(demo_dir)
    risk = data.load(ALDER, "neet_risk_pupils", s).frame
    full = pd.read_parquet(s / "neet_risk_pupils.parquet")
    assert len(risk) == (full["academy_urn"] == "100001").sum() > 0
    assert set(risk["academy_urn"]) == {"100001"}


def test_director_gets_published_variant_and_no_pupils(demo_dir):
    s = _serving(demo_dir)
    dm = data.load(DIRECTOR, "destination_measures", s)
    assert dm.published
    small = dm.frame[(dm.frame["academy_urn"] == "100003")]
    assert small["positive_pct"].isna().all()  # cohort 4: suppressed
    assert not data.load(DIRECTOR, "neet_risk_pupils", s).ok
    # asking for the published name directly changes nothing
    assert data.load(DIRECTOR, "destination_measures_published", s).published


def test_director_never_falls_back_to_unsuppressed(tmp_path):
    s = tmp_path / "warehouse" / "serving"
    s.mkdir(parents=True)
    pd.DataFrame({"academy_urn": ["100001"], "cohort": [3], "neet": [1]}).to_parquet(s / "neet_by_academy.parquet")
    got = data.load(DIRECTOR, "neet_by_academy", s)
    assert not got.ok and "published" in got.reason
    assert data.load(ADMIN, "neet_by_academy", s).ok


def test_admin_published_view_narrows(demo_dir):
    s = _serving(demo_dir)
    assert not data.load(ADMIN, "destination_measures", s).published
    assert data.load(ADMIN, "destination_measures", s, published_view=True).published


def test_cache_follows_new_publish(tmp_path):
    s = tmp_path / "serving"
    s.mkdir()
    pd.DataFrame({"academy_urn": ["100001"], "v": [1]}).to_parquet(s / "m.parquet")
    assert data.load(ADMIN, "m", s).frame["v"].iloc[0] == 1
    tmp = s / ".m.tmp"
    pd.DataFrame({"academy_urn": ["100001", "100002"], "v": [2, 3]}).to_parquet(tmp)
    tmp.replace(s / "m.parquet")
    assert data.load(ADMIN, "m", s).frame["v"].tolist() == [2, 3]
    assert data.load(ALDER, "m", s).frame["v"].tolist() == [2]


def test_unknown_role_denied(demo_dir):
    import pytest
    with pytest.raises(data.AccessDenied):
        data.load(User("x", "guest"), "destination_measures", _serving(demo_dir))
