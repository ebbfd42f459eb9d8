"""trust.yaml is parsed once per version of the file: an edit is seen at once, and no caller can
change what another caller reads (every call gets its own copy or frozen values)."""
from __future__ import annotations

import os
import shutil

import pipelines.config as cfg


def test_trust_config_is_cached_per_file_version_and_never_shared(tmp_path, monkeypatch):
    conf = tmp_path / "config"
    shutil.copytree(cfg.PROJECT_ROOT / "config", conf)
    monkeypatch.setenv("DESTINATIONS_CONFIG_DIR", str(conf))
    first = cfg.trust_config()
    first["rounds"].clear()
    first["validation"] = {"max_invalid_row_share": 0.99}
    assert cfg.trust_config()["rounds"] and [r.id for r in cfg.rounds()] == cfg.round_ids()
    section = cfg.trust_section("intake") or {}
    section["max_file_mb"] = 1
    assert cfg.intake_limits().get("max_file_mb") != 1
    assert cfg._parse_yaml.cache_info().currsize >= 1
    hits = cfg._parse_yaml.cache_info().hits
    cfg.trust_config()
    assert cfg._parse_yaml.cache_info().hits == hits + 1          # not parsed again

    yaml_path = conf / "trust.yaml"
    text = yaml_path.read_text(encoding="utf-8")
    yaml_path.write_text(text.replace("label:", "label: edited", 1), encoding="utf-8")
    st = yaml_path.stat()
    os.utime(yaml_path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert any(r.label.startswith("edited") for r in cfg.rounds())   # the edit is read at once
