"""Downloads are formula-injection safe; suppressed cells show c, never the number."""
import io

import openpyxl
import pandas as pd

from dashboards.lib import export, ui


def test_csv_and_xlsx_neutralise_formulas():
    df = pd.DataFrame({"provider": ["=HYPERLINK(\"http://x\")", "+SUM(1)", "-2+3", "@cmd", "Safe"],
                       "n": [1, 2, 3, 4, 5]})
    text = export.to_csv_bytes(df).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'+SUM" in text and "'-2+3" in text and "'@cmd" in text
    wb = openpyxl.load_workbook(io.BytesIO(export.to_xlsx_bytes(df)))
    vals = [c.value for c in wb.active["A"]][1:]
    assert vals[0] == "'=HYPERLINK(\"http://x\")" and vals[4] == "Safe"
    assert all(c.data_type != "f" for c in wb.active["A"])
    assert [c.value for c in wb.active["B"]][1:] == [1, 2, 3, 4, 5]  # numbers stay numbers


def test_display_formats_the_published_flags_and_decides_nothing():
    df = pd.DataFrame({"breakdown": ["A", "B", "C"], "cohort": [40.0, None, 0.0], "neet": [3.0, None, None],
                       "neet_pct": [7.5, None, None], "positive_pct": [91.234, None, None],
                       "suppressed": [False, True, False], "suppression_status": ["partial", "c", "z"],
                       "suppressed_measures": [["positive"], [], []]})
    df.loc[0, "positive_pct"] = None  # the publisher nulled it and listed it
    shown = ui.for_display(df)
    assert shown["positive_pct"].tolist() == ["c", "c", "z"]
    assert shown["neet_pct"].tolist() == ["7.5", "c", "z"]
    assert shown["cohort"].tolist() == ["40", "c", "0"]
    assert "suppressed" not in shown.columns and "suppressed_measures" not in shown.columns
    exp = ui.for_export(df)
    assert exp["positive_pct"].tolist()[:2] == ["c", "c"] and exp["neet_pct"].tolist()[0] == 7.5
    # a small shown count stays shown: consumers never suppress again
    small = pd.DataFrame({"cohort": [2.0], "neet": [1.0]})
    assert ui.for_display(small)["neet"].tolist() == ["1"]
