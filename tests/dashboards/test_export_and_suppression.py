"""Downloads are formula-injection safe; suppressed cells show c, never the number."""
import io

import openpyxl
import pandas as pd

from dashboards.lib import export, suppression


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


def test_display_marks_suppressed_cells_c():
    df = pd.DataFrame({"breakdown": ["A", "B"], "cohort": [40.0, None], "neet_pct": [None, None],
                       "positive_pct": [91.234, None]})
    shown = suppression.for_display(df, published=True)
    assert shown["positive_pct"].tolist() == ["91.2", "c"]
    assert shown["neet_pct"].tolist() == ["c", "c"]
    assert shown["cohort"].tolist() == ["40", "c"]
    exp = suppression.for_export(df, published=True)
    assert exp["positive_pct"].tolist()[1] == "c" and exp["positive_pct"].tolist()[0] == 91.234
    assert suppression.any_suppressed(df, True)
    # unsuppressed frames: a null is just missing, not c
    assert suppression.for_display(df, published=False)["neet_pct"].tolist() == ["", ""]
