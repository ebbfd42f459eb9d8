"""Public outputs per academy, from the published serving snapshot only.

    statement.py   the website destinations statement (accessible HTML + PDF), from the
                   public_destination_statement mart (public-release rules applied in dbt)
    governors.py   the governor pack (PDF) per academy
"""
