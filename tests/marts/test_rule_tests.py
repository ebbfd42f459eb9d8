"""The one-query dbt rule test (tests/generic/td_checks.sql) catches
what the per-column tests it replaced caught: each is rendered as dbt renders it and run on DuckDB
against a table with a planted null, a repeated key, a value outside its set, a broken rule and an
empty table."""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import jinja2
import pytest

GENERIC = Path(__file__).resolve().parents[2] / "dbt_project" / "tests" / "generic"


def render(name: str, **kwargs) -> str:
    text = (GENERIC / f"{name}.sql").read_text()
    m = re.search(r"{%\s*test\s+\w+\((.*?)\)\s*%}(.*){%\s*endtest\s*%}", text, re.S)
    defaults = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}  # as dbt applies them
    defaults.update({k: {} for k in re.findall(r"(\w+)={}", m.group(1))})
    return jinja2.Environment().from_string(m.group(2)).render(**{**defaults, **kwargs})


@pytest.fixture()
def con():
    con = duckdb.connect()
    con.execute("create table m (level varchar, cohort int, neet int, neet_pct double)")
    con.execute("insert into m values ('academy', 10, 2, 20.0), ('trust', 10, 2, 20.0)")
    return con


def failing(con, sql: str) -> list[tuple]:
    return sorted(con.execute(sql).fetchall())


def test_one_check_per_model_catches_what_each_replaced_test_caught(con):
    """td_checks folds not_null, unique, accepted_values, td_expression_is_true, td_not_null,
    td_unique_combination and td_rules of one model into one node: each planted defect is named."""
    con.execute("alter table m add column suppression_status varchar")
    con.execute("update m set suppression_status = 'shown'")
    sql = render("td_checks", model="m", not_null=["level", "cohort"],
                 unique=["cohort", ["level", "cohort"], ["coalesce(level, 'none')", "neet"]],
                 accepted_values={"suppression_status": ["c", "partial", "z", "shown"]},
                 rules=["neet <= cohort", "neet_pct is null or neet_pct between 0 and 100"], min_rows=1)
    assert failing(con, sql) == [("unique: cohort", 1)]       # both rows have cohort 10
    con.execute("update m set cohort = 11 where level = 'trust'")
    assert failing(con, sql) == []
    con.execute("""insert into m values
        (null, 12, 1, 5.0, 'shown'),       -- null level
        ('academy', 13, 1, 5.0, 'hidden'), -- a status outside the set
        ('academy', 13, 20, 5.0, null),    -- a repeated (level, cohort) and cohort 13 twice; neet > cohort
        ('trust', null, 1, 150.0, 'c'),    -- null cohort: not_null, and the rule cannot be evaluated
        ('trust', null, 1, 5.0, 'c')       -- null cohorts are not repeats of a column, are of a combination
    """)
    assert failing(con, sql) == [
        ("accepted values: suppression_status", 1),
        ("not null: cohort", 2),
        ("not null: level", 1),
        ("rule: neet <= cohort", 3),
        ("rule: neet_pct is null or neet_pct between 0 and 100", 1),
        ("unique: coalesce(level, 'none'), neet", 1),      # a key expression with quotes: named as written
        ("unique: cohort", 1),
        ("unique: level, cohort", 2),
    ]
    con.execute("delete from m")
    assert failing(con, sql) == [("at least 1 rows", 1)]


def test_every_model_has_at_most_one_row_check_node():
    """The dbt project keeps one td_checks test per model (no per-column one-query tests left
    outside the disclosure engine's folder), so a build runs a node per model, not per column."""
    import yaml
    root = GENERIC.parents[1]
    per_column = []
    for f in [*root.joinpath("models").rglob("*.yml"), *root.joinpath("seeds").rglob("*.yml")]:
        if "intermediate/disclosure" in f.as_posix():
            continue
        doc = yaml.safe_load(f.read_text()) or {}
        for node in doc.get("models", []) + doc.get("seeds", []):
            names = [next(iter(t)) if isinstance(t, dict) else t for t in node.get("data_tests", [])]
            assert names.count("td_checks") <= 1, (f, node["name"])
            for c in node.get("columns", []) or []:
                for t in c.get("data_tests", []) or []:
                    name = next(iter(t)) if isinstance(t, dict) else t
                    if name != "relationships":
                        per_column.append(f"{node['name']}.{c['name']}: {name}")
            per_column += [f"{node['name']}: {n}" for n in names if n not in ("td_checks", "relationships")]
    assert per_column == []


def test_references_name_values_missing_from_the_referenced_column(con):
    """td_checks' references (was: one relationships test per column) counts the rows whose
    non-null value is not in the referenced model's column, naming column and target; a null in
    the target column does not hide a missing value (a plain NOT IN would)."""
    con.execute("create table breakdowns (breakdown varchar)")
    con.execute("insert into breakdowns values ('academy'), (null)")
    sql = render("td_checks", model="m", references={"level": ["breakdowns", "breakdown"]},
                 ref=lambda name: name)
    assert failing(con, sql) == [("references: level in breakdowns.breakdown", 1)]   # 'trust'
    con.execute("insert into breakdowns values ('trust')")
    con.execute("insert into m values (null, 1, 0, 0.0)")                           # null: not checked
    assert failing(con, sql) == []
    con.execute("insert into m values ('region', 1, 0, 0.0), ('region', 2, 0, 0.0)")
    assert failing(con, sql) == [("references: level in breakdowns.breakdown", 2)]


def test_published_leaf_marts_are_checked_in_one_node():
    """The leaf published marts' row checks live in tests/published_marts_row_checks.sql (one node
    for all of them): each listed mart has no td_checks of its own, and every other mart still
    has one; no mart lost its row check (the six listed had none before this change either)."""
    import yaml
    root = GENERIC.parents[1]
    combined = set(re.findall(r"^    '(\w+)': \{", (root / "tests" / "published_marts_row_checks.sql").read_text(), re.M))
    assert len(combined) == 8
    own = {}
    for f in root.joinpath("models", "marts").rglob("*.yml"):
        for node in (yaml.safe_load(f.read_text()) or {}).get("models", []):
            names = [next(iter(t)) if isinstance(t, dict) else t for t in node.get("data_tests", []) or []]
            own[node["name"]] = "td_checks" in names
    assert combined <= set(own)
    assert not any(own[m] for m in combined)
    assert sorted(m for m, has in own.items() if not has and m not in combined) == [
        "benchmark_academy_dfe_destinations_published", "benchmark_national_comparison_published",
        "destination_providers_published", "destination_routes_published",
        "fsq_construct_scores_published", "fsq_destination_rates_published"]
