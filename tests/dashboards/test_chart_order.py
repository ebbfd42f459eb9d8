"""A trend whose first series has gaps (withheld years) keeps the years in order."""
import pandas as pd

from dashboards.lib import charts


def test_trend_years_in_order_whatever_the_series_gaps():
    df = pd.DataFrame({"leaving_year": ["2023-24", "2025-26", "2021-22", "2022-23", "2023-24", "2024-25", "2025-26"],
                       "series": ["Share"] * 2 + ["Target"] * 5, "pct": [21.0, 22.2, 25, 25, 25, 25, 25]})
    fig = charts.trend(df, "leaving_year", "pct", "Boys into care services", color="series")
    assert list(fig.layout.xaxis.categoryarray) == ["2021-22", "2022-23", "2023-24", "2024-25", "2025-26"]
    assert fig.layout.xaxis.categoryorder == "array"


def test_counts_of_a_few_things_get_whole_ticks():
    df = pd.DataFrame({"round": ["R1", "R2", "R3"], "returns": [1, 1, 1]})
    fig = charts.bars(df, "round", "returns", "3 received returns")
    assert fig.layout.yaxis.dtick == 1
    pct = charts.bars(pd.DataFrame({"round": ["R1"], "pct": [2.5]}), "round", "pct", "t")
    assert pct.layout.yaxis.dtick is None
