"""`destinations run` end to end on a tiny trust: nothing new stops at once; a run killed with
SIGKILL during dbt never blocks the next, which rebuilds what the killed one left; a damaged
warehouse is rebuilt from raw/ with identical marts. (bench/fault_runs.py runs 20+ kills.)"""
import json
import os
import signal
import subprocess
import threading
import time

import polars as pl
import pytest

from bench.fault_runs import differences, env_for, left_to_do, return_file, version_b
from pipelines.lib.publish import read_manifest, resolve_snapshot

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(data):
    from pipelines.runner import run_pipeline
    lines: list[str] = []
    rc = run_pipeline(data, echo=lines.append)
    return rc, "\n".join(lines)


def _sex_cohorts(data, urn):
    dm = pl.read_parquet(resolve_snapshot(data / "warehouse" / "serving") / "destination_measures.parquet")
    got = dm.filter((pl.col("level") == "academy") & (pl.col("academy_urn") == urn)
                    & (pl.col("breakdown_topic") == "Sex"))
    return got.group_by("breakdown").agg(pl.col("cohort").sum()).sort("breakdown").rows()


@pytest.fixture(scope="module")
def trust(tmp_path_factory):
    from pipelines.lib.generate import generate_trust
    data = tmp_path_factory.mktemp("tiny")
    generate_trust(data, academies=2, years=1, seed=5)
    old = os.environ.get("DESTINATIONS_DATA_DIR")
    yield data
    if old is None:
        os.environ.pop("DESTINATIONS_DATA_DIR", None)
    else:
        os.environ["DESTINATIONS_DATA_DIR"] = old


SUBMIT_PROBE = """
import sys, time
from pathlib import Path
from pipelines.config import paths
from pipelines.lib.returns.context import build_context, read_only_warehouse
p, stop = paths(Path(sys.argv[1])), Path(sys.argv[2])
read = busy = 0
while not stop.exists():
    with read_only_warehouse(p) as con:         # exactly what `destinations submit` does with the warehouse
        ctx = build_context(p, sys.argv[3], sys.argv[4], "R3", con)
        time.sleep(0.2)                         # a submit's checks hold the connection a while
    read, busy = read + (con is not None), busy + (con is None)
    time.sleep(0.05)
print(read, busy)
"""


SUBJECT_PROBE = """
import json, sys, time
from pathlib import Path
from pipelines.lib.privacy.subject import subject_access
from pipelines.lib.warehouse import lock_holder
data, upn = Path(sys.argv[1]), sys.argv[2]
deadline = time.monotonic() + 1800
while lock_holder(data / "warehouse").get("what") != "destinations run" and time.monotonic() < deadline:
    time.sleep(0.05)
quick = subject_access(upn, data, wait=0)           # during the run: answers at once, tables not searched
waited = subject_access(upn, data, wait=1800)       # during the run: waits for it to end, then searches
print(json.dumps({"quick": quick["warehouse"], "quick_files": len(quick["files"]),
                  "waited": waited["warehouse"], "tables": [t["table"] for t in waited["tables"]]}))
"""


def test_full_then_nothing_new(trust, tmp_path):
    """A full build while `submit`'s warehouse reads and a subject access request hammer it: the
    run never fails because of them, nor do they. It prints its progress (_check_progress)."""

    from pipelines.config import DBT_PROJECT_DIR
    f = return_file(trust)
    urn, year = f.relative_to(trust / "raw" / "returns").parts[:2]
    lines = f.read_text().splitlines()
    upn = lines[1].split(",")[lines[0].split(",").index("upn")]
    subject = subprocess.Popen([os.path.join(REPO, ".venv", "bin", "python"), "-c", SUBJECT_PROBE, str(trust), upn],
                               cwd=REPO, stdout=subprocess.PIPE, text=True)
    shared_results = DBT_PROJECT_DIR / "target" / "run_results.json"
    shared_before = shared_results.stat().st_mtime_ns if shared_results.exists() else None
    stop = tmp_path / "stop"
    probe = subprocess.Popen([os.path.join(REPO, ".venv", "bin", "python"), "-c",
                              SUBMIT_PROBE, str(trust), str(stop), urn, year],
                             cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        rc, out = _run(trust)
    finally:
        stop.touch()
        reads, busy = map(int, probe.communicate(timeout=120)[0].split())
    sar = json.loads(subject.communicate(timeout=300)[0])
    assert rc == 0, out
    assert sar["quick"].startswith("not searched: a run is in progress (destinations run"), sar
    assert sar["quick_files"] >= 1, sar                  # the files were still searched
    assert sar["waited"] == "searched" and "raw.destination_returns" in sar["tables"], sar
    assert "Full build" in out and "Timing:" in out and "step warehouse_models started" in out
    _check_progress(trust, out)
    assert busy > 0 and reads + busy > 20, (reads, busy)   # they really ran while the run held the file
    state = trust / "warehouse" / "dbt"
    assert (state / "target" / "run_results.json").exists() and (state / "target" / "partial_parse.msgpack").exists()
    assert list(state.rglob("dbt.log")), "dbt state and logs per data directory"
    after = shared_results.stat().st_mtime_ns if shared_results.exists() else None
    assert after == shared_before, "a run wrote the repo's shared dbt target/"
    version = read_manifest(trust / "warehouse" / "serving")["version"]
    t0 = time.monotonic()
    rc, out = _run(trust)
    assert rc == 0 and "Nothing changed since the last successful run" in out, out
    assert time.monotonic() - t0 < 10
    assert read_manifest(trust / "warehouse" / "serving")["version"] == version


def _check_progress(data, out: str) -> None:
    """The build's progress lines (lib/dbt_progress.py): dbt's count closes with every node of
    the build, and the engine's lines cover each partition of its table once, k of n; dbt's own
    START / OK lines are not printed (its log has them)."""
    import re
    results = json.loads((data / "warehouse" / "dbt" / "target" / "run_results.json").read_text())["results"]
    n = len(results)
    assert re.search(rf"\]     dbt: {n} of {n} nodes done in [\d.]+s \(\d+ models, \d+ seeds, \d+ tests\)\n", out), out
    partitions = _warehouse_rows(data, "select count(distinct partition_label) from intermediate.int_disclosure__cells")[0][0]
    years = _warehouse_rows(data, "select count(distinct partition_label) from intermediate.int_disclosure__cells "
                                  "where partition_label like 'leaving_year=%'")[0][0]
    assert years >= 1 and partitions > years
    assert f"]     disclosure engine: {partitions} partitions, {partitions} to compute (" in out, out
    covered = []
    for first, last in re.findall(rf"disclosure engine: \S+ (?:and \d+ more )?\((\d+)(?:-(\d+))? of {partitions}\) "
                                  r"started: ", out):
        covered += range(int(first), int(last or first) + 1)
    assert sorted(covered) == list(range(1, partitions + 1)), out
    assert len(re.findall(r"disclosure engine: .* done in [\d.]+s: ", out)) == len(re.findall(" started: ", out)), out
    assert "START sql" not in out and " OK created " not in out


def test_run_killed_during_dbt_is_finished_by_the_next(trust):
    f = return_file(trust)
    urn = f.relative_to(trust / "raw" / "returns").parts[0]
    before = dict(_sex_cohorts(trust, urn))
    f.write_bytes(version_b(f.read_bytes()))
    # killed while loading returns, then the next run killed while dbt builds, then the next one
    # while it writes the trustee pack (after the new snapshot was published)
    for marker, after in (("] ingest returns", 0.3), ("step warehouse_models started", 3.0),
                          ("step documents started", 0.5)):
        proc = subprocess.Popen([os.path.join(REPO, ".venv", "bin", "destinations"), "run"], env=env_for(trust),
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        seen: list[str] = []
        threading.Thread(target=lambda: seen.extend(proc.stdout), daemon=True).start()
        deadline = time.monotonic() + 900
        while marker not in "".join(seen) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "".join(seen)
        time.sleep(after)
        os.killpg(proc.pid, signal.SIGKILL)      # the run and its dbt process, as kill -9 would
        proc.wait()
    assert any(x.startswith("pending ") for x in left_to_do(trust)), left_to_do(trust)
    rc, out = _run(trust)
    assert rc == 0, out
    after = dict(_sex_cohorts(trust, urn))
    assert sum(after.values()) == sum(before.values())
    assert sorted(abs(after[k] - before[k]) for k in before) == [1, 1], (before, after)
    # the pack the killed run did not finish is rebuilt from the snapshot now served
    version = read_manifest(trust / "warehouse" / "serving")["version"]
    year, built_from = (trust / "reports" / ".built_from_snapshot").read_text().split()
    assert built_from == version
    assert (trust / "reports" / year / f"trustee_report_{year}.pdf").stat().st_size > 0
    assert not list((trust / "reports").rglob("*.tmp"))
    assert left_to_do(trust) == []       # the fault script's "settled", from the run state
    rc, out = _run(trust)
    assert rc == 0 and "Nothing changed since the last successful run" in out, out


def test_damaged_warehouse_is_rebuilt_from_raw(trust, tmp_path):
    import shutil
    reference = tmp_path / "reference"
    shutil.copytree(resolve_snapshot(trust / "warehouse" / "serving"), reference / "warehouse" / "serving")
    (trust / "warehouse" / "warehouse.duckdb").write_bytes(b"\x00not a database" * 4096)
    rc, out = _run(trust)
    assert rc == 0, out
    assert "could not be read" in out and "rebuilding it from raw/" in out
    assert list((trust / "warehouse").glob("warehouse.duckdb.corrupt-*"))
    diff = differences(trust, reference)
    assert not diff, diff


def test_dbt_unit_tests_pass(trust, tmp_path):
    """Builds leave the dbt unit tests out (they test SQL logic, not data); they run here."""
    from pipelines.config import DBT_PROJECT_DIR
    env = {**env_for(trust), "DESTINATIONS_WAREHOUSE_PATH": str(trust / "warehouse" / "warehouse.duckdb"),
           "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "logs")}
    proc = subprocess.run([os.path.join(REPO, ".venv", "bin", "dbt"), "test", "--select", "test_type:unit",
                           "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
                          env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:]
    import re
    passed = re.search(r"PASS=(\d+)", proc.stdout)
    assert passed and int(passed.group(1)) >= 10 and "ERROR=0" in proc.stdout, proc.stdout[-2000:]


def _warehouse_rows(data, sql, params=()):
    import duckdb
    con = duckdb.connect(str(data / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _built_models(data) -> set[str]:
    import json
    results = json.loads((data / "warehouse" / "dbt" / "target" / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[-1] for r in results if r["unique_id"].startswith("model.")}


def test_corrected_return_rebuilds_fsq_scores_not_the_stored_answers(trust):
    """One pupil's sex corrected in a return: fsq_construct_scores moves exactly that pupil's FSQ
    answers between the Sex breakdowns, from the stored per-pupil construct counts; the FSQ
    answers (unchanged) are not aggregated again."""
    f = return_file(trust)
    urn = f.relative_to(trust / "raw" / "returns").parts[0]
    lines = f.read_bytes().split(b"\n")
    head = lines[0].decode().split(",")
    i_upn, i_sex = head.index("upn"), head.index("sex")
    with_fsq = {r[0] for r in _warehouse_rows(
        trust, "select distinct upper(trim(upn)) from raw.fsq_responses where academy_urn = ? "
               "and construct is not null and response is not null", [urn])}
    k = next(k for k in range(1, len(lines)) if lines[k]
             and lines[k].decode().split(",")[i_upn].strip().upper() in with_fsq)
    cells = lines[k].decode().split(",")
    upn, old = cells[i_upn].strip().upper(), cells[i_sex]
    new = "M" if old == "F" else "F"
    label = {"F": "Female", "M": "Male"}
    assert _warehouse_rows(trust, "select sex_label from intermediate.int_careers__pupil_characteristics "
                                  "where upn = ?", [upn]) == [(label[old],)]
    mine = ("select academic_year, survey_round, year_group, count(*) filter (where response is not null) "
            "from raw.fsq_responses where academy_urn = ? and upper(trim(upn)) = ? and construct is not null "
            "group by all")
    surveys = {(y, r, g): n for y, r, g, n in _warehouse_rows(trust, mine, [urn, upn])}
    scores = ("select academic_year, survey_round, year_group, breakdown, max(pupils_invited), sum(answers) "
              "from marts.fsq_construct_scores where level = 'academy' and academy_urn = ? "
              "and breakdown_topic = 'Sex' group by all")
    before = {tuple(r[:4]): r[4:] for r in _warehouse_rows(trust, scores, [urn])}
    cells[i_sex] = new
    lines[k] = ",".join(cells).encode()
    f.write_bytes(b"\n".join(lines))
    rc, out = _run(trust)
    assert rc == 0, out
    built = _built_models(trust)
    assert {"fsq_construct_scores", "fsq_destination_linkage", "int_careers__pupil_characteristics"} <= built
    assert not built & {"int_careers__fsq_pupil_constructs", "int_careers__fsq_pupil_surveys",
                        "stg_careers__fsq_responses"}, built
    # the per-pupil construct counts are stored (a view would aggregate every answer again)
    assert _warehouse_rows(trust, "select table_type from information_schema.tables where table_schema = "
                                  "'intermediate' and table_name = 'int_careers__fsq_pupil_constructs'") == [("BASE TABLE",)]
    after = {tuple(r[:4]): r[4:] for r in _warehouse_rows(trust, scores, [urn])}
    for (year, rnd, group), answered in surveys.items():
        was, now = (year, rnd, group, label[old]), (year, rnd, group, label[new])
        assert after[was][0] == before[was][0] - 1 and after[now][0] == before.get(now, (0, 0))[0] + 1
        assert after[was][1] == before[was][1] - answered, (was, before[was], after[was])
        assert after[now][1] == before.get(now, (0, 0))[1] + answered
    untouched = set(before) - {(y, r, g, label[s]) for y, r, g in surveys for s in (old, new)}
    assert untouched and all(after[key] == before[key] for key in untouched)
