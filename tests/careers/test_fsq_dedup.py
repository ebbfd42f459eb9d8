"""stg_careers__fsq_responses ranks only the answers that more than one file carries (a re-export):
the same rows as ranking every answer, the most recently modified file winning."""
from pathlib import Path

import duckdb

from pipelines.lib.careers.landing import ensure_careers_tables

# raw.fsq_responses as one table (the layout before raw.fsq_files + raw.fsq_answers): the rows are
# written in it and moved to the new layout by the upgrade a warehouse of that version gets
OLD_FSQ_DDL = """
create table raw.fsq_responses (
    academy_urn varchar not null, academic_year varchar not null, survey_date date not null,
    survey_round varchar not null, upn varchar not null, upn_is_temporary boolean not null,
    year_group integer not null, item_id varchar not null, construct varchar, response varchar,
    response_score integer, is_positive boolean, source_file varchar not null,
    file_sha256 varchar not null, source_row integer not null, file_modified_at timestamp not null
)"""

MODEL = Path(__file__).resolve().parents[2] / "dbt_project/models/staging/careers/stg_careers__fsq_responses.sql"

# the model before: every answer ranked (the oracle)
RANK_ALL = """
select * exclude (_rank) from (
    select *, row_number() over (partition by upn, survey_date, item_id
                                 order by file_modified_at desc, source_file desc, source_row) as _rank
    from raw.fsq_responses)
where _rank = 1"""
# the model's columns, as it has always named them
ORACLE = f"""
select cast(academy_urn as varchar) as academy_urn, academic_year, cast(survey_date as date) as survey_date,
       survey_round, upper(trim(upn)) as upn, upn_is_temporary as is_temporary_upn,
       cast(year_group as integer) as year_group, upper(item_id) as item_id, construct, response,
       response_score, response is not null as is_answered, is_positive, source_file, source_row
from ({RANK_ALL})"""


def test_only_repeated_answers_are_ranked_and_the_newest_file_wins():
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(OLD_FSQ_DDL)
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
    ensure_careers_tables(con)
    sql = MODEL.read_text()
    for t in ("fsq_answers", "fsq_files"):
        sql = sql.replace(f"{{{{ source('raw', '{t}') }}}}", f"raw.{t}")
    con.execute(f"create view stg as {sql}")
    con.execute(f"create view oracle as {ORACLE}")
    columns = [[c[0] for c in con.execute(f"describe {v}").fetchall()] for v in ("stg", "oracle")]
    assert columns[0] == columns[1]
    assert con.execute("select count(*) from stg").fetchone()[0] == 6000
    for a, b in (("stg", "oracle"), ("oracle", "stg")):
        assert con.execute(f"select count(*) from (select * from {a} except all select * from {b})").fetchone()[0] == 0
    assert con.execute("select count(*) filter (where source_file = 'new.csv'), "
                       "count(*) filter (where response = 'Disagree') from stg").fetchone() == (500, 500)
    assert con.execute("select source_file from stg where source_row = 10007").fetchone() == ("new.csv",)
