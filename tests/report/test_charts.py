"""Chart images drawn the cheaper way are the same pixels as matplotlib's own placement."""
from __future__ import annotations

from matplotlib.axes import Axes
from PIL import Image

from pipelines.lib.report import charts


def _pixels(path):
    with Image.open(path) as im:
        return im.size, im.tobytes()


def test_bar_chart_title_where_matplotlib_puts_it(tmp_path, monkeypatch):
    labels = [f"Academy {i} of the trust" for i in range(40)]
    values = [(i * 7.3) % 100 if i % 9 else "c" for i in range(40)]
    markers = [(i * 3.1) % 100 if i % 5 else None for i in range(40)]
    placed = charts.bars_with_markers(tmp_path / "placed.png", labels, values, markers, "EET by academy",
                                      "Trust", "England", 100.0)
    set_title = Axes.set_title
    monkeypatch.setattr(Axes, "set_title", lambda self, *a, y=None, **kw: set_title(self, *a, **kw))
    auto = charts.bars_with_markers(tmp_path / "auto.png", labels, values, markers, "EET by academy",
                                    "Trust", "England", 100.0)
    assert _pixels(placed) == _pixels(auto)
