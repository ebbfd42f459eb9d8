"""stg_careers__fsq_responses ranks only the answers that more than one file carries (a re-export):
the same rows as ranking every answer, the most recently modified file winning."""
from pathlib import Path

import duckdb

from pipelines.lib.careers.landing import FSQ_DDL

MODEL = Path(__file__).resolve().parents[2] / "dbt_project/models/staging/careers/stg_careers__fsq_responses.sql"

# the model before: every answer ranked (the oracle)
RANK_ALL = """
select * exclude (_rank) from (
    select *, row_number() over (partition by upn, survey_date, item_id
                                 order by file_modified_at desc, source_file desc, source_row) as _rank
    from raw.fsq_responses)
where _rank = 1"""


def test_only_repeated_answers_are_ranked_and_the_newest_file_wins():
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(FSQ_DDL)
    con.execute("""
        insert into raw.fsq_responses
        select '100001', '2025-26', date '2025-10-01' + (i % 3)::int, 'autumn',
               'A' || lpad((i % 400)::varchar, 12, '0'), false, 10, 'Q' || (i // 1200)::varchar,
               'c1', case when i % 7 = 0 then null else 'Agree' end, 4, i % 2 = 0,
               'old.csv', 'sha-old', i::int, timestamp '2025-10-05 09:00'
        from range(6000) t(i)""")
    # a re-export repeats 500 answers with a changed response (newer file), one answer three times
    con.execute("""
        insert into raw.fsq_responses
        select academy_urn, academic_year, survey_date, survey_round, upn, upn_is_temporary, year_group,
               item_id, construct, 'Disagree', 2, false, 'new.csv', 'sha-new', source_row + 10000,
               timestamp '2025-11-01 09:00'
        from raw.fsq_responses where source_row < 500""")
    con.execute("""
        insert into raw.fsq_responses
        select academy_urn, academic_year, survey_date, survey_round, upn, upn_is_temporary, year_group,
               item_id, construct, 'Unsure', 3, false, 'older.csv', 'sha-older', 1, timestamp '2025-09-01'
        from raw.fsq_responses where source_row = 7""")
    sql = MODEL.read_text().replace("{{ source('raw', 'fsq_responses') }}", "raw.fsq_responses")
    con.execute(f"create view stg as {sql}")
    assert sql.rstrip().endswith("from ranked")
    con.execute(f"create view oracle as {sql.rstrip()[:-len('ranked')]}({RANK_ALL})")
    assert con.execute("select count(*) from stg").fetchone()[0] == 6000
    for a, b in (("stg", "oracle"), ("oracle", "stg")):
        assert con.execute(f"select count(*) from (select * from {a} except all select * from {b})").fetchone()[0] == 0
    assert con.execute("select count(*) filter (where source_file = 'new.csv'), "
                       "count(*) filter (where response = 'Disagree') from stg").fetchone() == (500, 500)
    assert con.execute("select source_file from stg where source_row = 10007").fetchone() == ("new.csv",)
