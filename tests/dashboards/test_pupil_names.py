"""The optional pupil name column reaches the academy's own NEET-risk list and nothing else:
no other served mart, no pack, public page or governor pack, no director or other academy."""
from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

import dash_fixture_data as fx
from names_attack import found, returned_names, text_of


def test_names_only_in_the_neet_risk_list(demo_dir):
    names = returned_names(demo_dir)
    every = set().union(*names.values())
    assert len(names) == 6 and len(every) > 300  # every generated return carries names
    serving = demo_dir / "warehouse" / "serving"
    files = sorted(serving.glob("*.parquet"))
    assert len(files) > 30
    holders = []
    for f in files:
        table = pq.read_table(f)
        if "pupil_name" in table.column_names:
            holders.append(f.stem)
        text = " ".join(str(v) for col in table.columns if str(col.type) in ("string", "large_string")
                        for v in col.to_pylist() if v)
        hit = found(every, text)
        assert f.stem == "neet_risk_pupils" or not hit, f"{f.stem} holds pupil names: {sorted(hit)[:3]}"
    assert holders == ["neet_risk_pupils"]
    risk = pq.read_table(serving / "neet_risk_pupils.parquet").to_pylist()
    assert risk and all(r["pupil_name"] for r in risk)
    # each name is the one the pupil's own academy returned
    for r in risk:
        assert r["pupil_name"] in names[r["academy_urn"]]


def test_no_name_in_any_report_file(demo_dir):
    every = set().union(*returned_names(demo_dir).values())
    reports = [p for p in (demo_dir / "reports").rglob("*") if p.is_file()]
    kinds = {p.suffix for p in reports}
    assert {".pdf", ".xlsx", ".html"} <= kinds, kinds   # trustee pack, public pages, governor packs
    for p in reports:
        hit = found(every, text_of(p.name, p.read_bytes()))
        assert not hit, f"{p.relative_to(demo_dir)} names pupils: {sorted(hit)[:3]}"


def test_data_layer_gives_names_only_to_own_academy_and_admin(demo_dir):
    from dashboards.lib import data
    from dashboards.lib.users import User
    serving = data.serving_dir(demo_dir)
    director = data.load(User("director", "director", ()), "neet_risk_pupils", serving)
    assert director.frame is None
    admin_preview = data.load(User("admin", "trust_admin", ()), "neet_risk_pupils", serving, published_view=True)
    assert admin_preview.frame is None   # "what directors see" never has names either
    multi = data.load(User("multi", "academy", (fx.U2, fx.U3)), "neet_risk_pupils", serving).frame
    alder = data.load(User("alder", "academy", (fx.U1,)), "neet_risk_pupils", serving).frame
    admin = data.load(User("admin", "trust_admin", ()), "neet_risk_pupils", serving).frame
    assert alder is not None and len(alder) and alder["pupil_name"].notna().all()
    assert set(alder["academy_urn"]) == {fx.U1}
    assert multi is None or set(multi["academy_urn"]) <= {fx.U2, fx.U3}
    assert set(admin["upn"]) >= set(alder["upn"])
