from __future__ import annotations

import sys
import types

import polars as pl
import pytest

from pipelines.cli import main
from pipelines.lib.generate import GenerateError, generate_trust


def test_cli_writes_into_the_data_directory_without_out(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setitem(sys.modules, "pipelines.lib.careers.synthetic", None)  # hook off
    rc = main(["generate", "--academies", "3", "--years", "1", "--seed", "9"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "academies: 3" in out and "2025-26" in out
    reg = pl.read_csv(tmp_path / "data" / "raw" / "academies.csv", infer_schema=False)
    assert reg.height == 3
    assert any((tmp_path / "data" / "raw" / "returns").rglob("*.csv"))


@pytest.mark.parametrize("argv", [
    ["generate", "--years", "0"],
    ["generate", "--academies", "0"],
    ["generate", "--scale", "huge"],
    ["generate", "--seed", "abc"],
])
def test_cli_bad_arguments_exit_2(tmp_path, argv):
    assert main(argv + ["--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x" / "raw" / "returns").exists()


def test_refuses_to_overwrite_returns_it_did_not_write(tmp_path):
    real = tmp_path / "raw" / "returns" / "123456" / "2024-25" / "R1"
    real.mkdir(parents=True)
    (real / "return.csv").write_text("upn\n")
    with pytest.raises(GenerateError, match="did not write"):
        generate_trust(tmp_path, years=1, with_careers=False)
    assert (real / "return.csv").exists()


def test_careers_hook_receives_register_and_leavers(tmp_path, monkeypatch):
    calls = []
    fake = types.ModuleType("pipelines.lib.careers.synthetic")

    def generate_careers_data(out_dir, academies, leavers, seed, scale):
        calls.append((out_dir, academies, leavers, seed, scale))
        return {"fsq_files": 0}

    fake.generate_careers_data = generate_careers_data
    monkeypatch.setitem(sys.modules, "pipelines.lib.careers.synthetic", fake)
    s = generate_trust(tmp_path, academies=4, years=1, seed=11)
    assert s["careers"] == {"fsq_files": 0}
    (out_dir, academies, leavers, seed, scale), = calls
    assert out_dir == tmp_path and seed == 11 and scale == "small"
    assert academies["urn"].to_list() == pl.read_csv(tmp_path / "raw" / "academies.csv", infer_schema=False)["urn"].to_list()
    truth = pl.read_parquet(tmp_path / "_truth" / "leavers.parquet")
    assert leavers.equals(truth)
    assert {"academy_urn", "upn", "leaving_year", "key_stage", "sex", "disadvantaged",
            "sen_provision", "ethnicity", "readiness", "destination_code"} <= set(leavers.columns)
    # current pupils (no actual destination yet) are included for the NEET-risk list / FSQ
    assert leavers.filter(pl.col("is_current"))["destination_code"].null_count() == \
        leavers.filter(pl.col("is_current")).height > 0


def test_careers_hook_errors_surface(tmp_path, monkeypatch):
    fake = types.ModuleType("pipelines.lib.careers.synthetic")

    def generate_careers_data(**kw):
        raise RuntimeError("careers generator bug")

    fake.generate_careers_data = generate_careers_data
    monkeypatch.setitem(sys.modules, "pipelines.lib.careers.synthetic", fake)
    with pytest.raises(RuntimeError, match="careers generator bug"):
        generate_trust(tmp_path, academies=2, years=1)
