"""Chart images for the pack (matplotlib, PNG, deterministic: no timestamps in the file)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BLUE, GREY, DARK = "#1f5fa8", "#9aa5b1", "#222222"
plt.rcParams.update({"font.family": "DejaVu Sans", "font.size": 9, "svg.hashsalt": "trust-destinations"})


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")     # a killed run leaves no half-written chart
    fig.savefig(tmp, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    tmp.replace(path)
    return path


class Later:
    """The charts of one document, asked for as it is assembled and drawn together by draw():
    this process and a worker process share them, the charts with the most bars first (the
    academies' chart of a large trust costs more than the rest together)."""

    def __init__(self):
        self.jobs: list[tuple] = []

    def add(self, chart, path: Path, *args, **kw) -> Path:
        """chart(path, *args, **kw) (a chart function of this module), drawn by draw()."""
        self.jobs.append((chart.__name__, path, args, kw))
        return path

    def draw(self) -> None:
        from pipelines.lib.report.workers import draw_all
        draw_all(draw_chart, sorted(self.jobs, key=lambda j: -len(j[2][0])), pool_from=2)
        self.jobs = []


def draw_chart(job: tuple) -> Path:
    name, path, args, kw = job
    return globals()[name](path, *args, **kw)


def bars_with_markers(path: Path, labels: list[str], values: list, markers: list, title: str,
                      value_label: str, marker_label: str, xmax: float | None = None) -> Path:
    """Horizontal bars (the trust), a marker per bar (the comparator); `c` bars are labelled, not drawn."""
    n = len(labels)
    fig, ax = plt.subplots(figsize=(7.0, 0.3 * n + 0.9))
    ys = list(range(n))[::-1]
    nums = [v if isinstance(v, (int, float)) else 0 for v in values]
    ax.barh(ys, nums, color=BLUE, height=0.6, label=value_label)
    top = max([v for v in nums] + [m for m in markers if isinstance(m, (int, float))] + [1])
    lim = xmax or min(100.0, top * 1.18 + 1)
    for y, v in zip(ys, values):  # value at the base of the bar, clear of the comparator marker
        if isinstance(v, (int, float)):
            inside = v >= lim * 0.12
            ax.text(lim * 0.01 if inside else v + lim * 0.01, y, f"{v:.1f}", va="center", fontsize=7.5,
                    color="white" if inside else DARK)
        else:
            ax.text(lim * 0.01, y, "c (withheld)" if v == "c" else "no figure", va="center", fontsize=7.5,
                    color=DARK)
    mx = [(m, y) for m, y in zip(markers, ys) if isinstance(m, (int, float))]
    if mx:
        ax.scatter([m for m, _ in mx], [y for _, y in mx], marker="D", color="#d9822b", zorder=3, s=22,
                   label=marker_label)
    ax.set_yticks(ys, labels)
    ax.set_xlim(0, lim)
    ax.set_xlabel("%")
    # the title's place given (where matplotlib puts it above a bottom x axis): not worked out again
    # from every tick label's box on each of savefig's two layout passes (a sixth of a tall chart's work)
    ax.set_title(title, fontsize=10, loc="left", y=1.0)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16 - 0.9 / max(n, 1)), ncols=2, fontsize=7,
              frameon=False)
    return _save(fig, path)


def grouped_bars(path: Path, categories: list[str], series: dict[str, list], title: str, ylabel: str = "%",
                 ymax: float | None = 100.0) -> Path:
    """Vertical grouped bars (e.g. benchmark scores: trust vs national)."""
    import numpy as np
    fig, ax = plt.subplots(figsize=(7.0, 3.0))
    x = np.arange(len(categories))
    k = max(1, len(series))
    w = 0.8 / k
    colours = [BLUE, "#d9822b", GREY, "#4c9a2a"]
    for i, (name, vals) in enumerate(series.items()):
        nums = [v if isinstance(v, (int, float)) else 0 for v in vals]
        ax.bar(x + (i - (k - 1) / 2) * w, nums, w, label=name, color=colours[i % len(colours)])
    ax.set_xticks(x, categories, fontsize=8)
    if ymax:
        ax.set_ylim(0, ymax)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, frameon=False, ncols=min(k, 4))
    return _save(fig, path)


def trend_panels(path: Path, years: list[str], panels: list[tuple[str, dict, dict]], title: str) -> Path:
    """Side-by-side line panels over leaving years, each (panel title, trust series, comparators):
    trust solid, comparators dashed; `c`/`z` years are gaps in a line."""
    fig, axes = plt.subplots(1, len(panels), figsize=(7.2, 3.0), squeeze=False)
    colours = [BLUE, "#4c9a2a", "#7a306c", "#c44536"]
    x = list(range(len(years)))

    def nums(vals):
        return [v if isinstance(v, (int, float)) else float("nan") for v in vals]

    for ax, (ptitle, series, refs) in zip(axes[0], panels):
        top = 1.0
        for i, (name, vals) in enumerate(series.items()):
            ax.plot(x, nums(vals), marker="o", color=colours[i % len(colours)], label=name, linewidth=1.8)
            top = max([top] + [v for v in vals if isinstance(v, (int, float))])
        for i, (name, vals) in enumerate(refs.items()):
            ax.plot(x, nums(vals), linestyle="--", marker=".", color=["#d9822b", GREY][i % 2], label=name)
            top = max([top] + [v for v in vals if isinstance(v, (int, float))])
        ax.set_xticks(x, years, fontsize=7, rotation=30)
        small = top <= 30   # NEET-sized figures: room above the lines for the legend
        ax.set_ylim(0, max(5.0, top * 1.8) if small else 100)
        ax.set_ylabel("%")
        ax.set_title(ptitle, fontsize=9, loc="left")
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(fontsize=6.5, frameon=False, loc="upper left" if small else "lower left", ncols=2 if small else 1)
    fig.suptitle(title, fontsize=10, x=0.02, ha="left")
    fig.tight_layout()
    return _save(fig, path)
