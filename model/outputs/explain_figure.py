"""explain.png and explain.svg: per place, the assumptions and the reports its projection rests on.

One row of two panels per place. Left, the inputs ranked by their total index: the bar is
the share of the spread in the number of workers present that the input takes part in
(alone or through its interplay with other inputs), the black tick the share it explains
alone; one bar per date explained. Right, the reports ranked by influence: how many
workers the median or a bound of the 90% interval moves when the report is left out, hatched
where too few particles carry the weight without it (the report matters, but the reweighting
cannot say how much).
The words on the figure say this without the words "Sobol" or "index".
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter  # noqa: E402

from .plotting import quietly  # noqa: E402
from .sensitivity import CHANCE, Points  # noqa: E402

TOP = 8
"""Inputs and reports shown per panel (the tables hold them all)."""
_LABELS = {CHANCE: "chance (the model's own randomness)"}


def _date_colours(cmap: str, count: int) -> list:
    return list(plt.get_cmap(cmap)(np.linspace(0.45, 0.9, count)))


def _ranked(rows: pd.DataFrame, key: str, value: str) -> list[str]:
    """The `key`s of `rows` by their largest `value` over the dates, largest first, at most TOP."""
    if rows.empty:
        return []
    best = rows.groupby(key, sort=False)[value].max().sort_values(ascending=False, kind="stable")
    return list(best.index[:TOP])


def _bars(rows: pd.DataFrame, key: str, names: list[str],
          dates: Sequence[str]) -> Iterator[tuple[float, float, int, pd.DataFrame]]:
    """For a panel of grouped bars: each name's row at each date, with its bar's y, height and date index.

    Names run top to bottom in the given order; within a name, one bar per date.
    """
    height = 0.8 / max(len(dates), 1)
    for i, name in enumerate(names):
        for d, date in enumerate(dates):
            row = rows[(rows[key] == name) & (rows.date == date)]
            if not row.empty:
                yield len(names) - 1 - i + 0.4 - height * (d + 0.5), height, d, row


def _inputs_panel(axes, rows: pd.DataFrame, dates: Sequence[str], colours: list) -> None:
    names = _ranked(rows, "input", "ST")
    for y, height, d, row in _bars(rows, "input", names, dates):
        total, alone = (float(np.clip(row[c].iloc[0], 0, 1)) for c in ("ST", "S1"))
        axes.barh(y, total, height=height * 0.9, color=colours[d])
        if alone > 0.005:
            axes.plot([alone, alone], [y - height * 0.45, y + height * 0.45], color="black", lw=2)
    axes.set_yticks(np.arange(len(names))[::-1], [_LABELS.get(n, n) for n in names], fontsize=8)
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    axes.grid(axis="x", alpha=0.3)


def _reports_panel(axes, rows: pd.DataFrame, dates: Sequence[str], colours: list) -> None:
    if rows.empty:
        axes.text(0.5, 0.5, "not computed (needs a posterior and reports)", ha="center", va="center",
                  transform=axes.transAxes, color="grey")
        axes.set_yticks([])
        return
    names = _ranked(rows, "report", "influence")
    for y, height, d, row in _bars(rows, "report", names, dates):
        reliable = bool(row.reliable.iloc[0])
        moved = float(row.influence.iloc[0])
        axes.barh(y, moved, height=height * 0.9, color=colours[d], alpha=1.0 if reliable else 0.35,
                  hatch=None if reliable else "///", edgecolor="white" if reliable else "black", lw=0.3)
        if moved > 0 and d == len(dates) - 1:
            axes.annotate(f"median {float(row.median_shift.iloc[0]):+,.0f}", (moved, y), xytext=(3, 0),
                          textcoords="offset points", va="center", fontsize=6.5, color="#444444")
    axes.set_yticks(np.arange(len(names))[::-1], names, fontsize=8)
    axes.set_xlim(0, max(float(rows.influence.max()), 1.0) * 1.25)
    axes.xaxis.set_major_locator(MaxNLocator(5))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    axes.grid(axis="x", alpha=0.3)


@quietly
def plot_explain(sensitivity: pd.DataFrame, influence: pd.DataFrame, points: Points, paths: Sequence[Path],
                 title: str, metadata: dict[str, str], samples: int, particles: int) -> None:
    """Draw the figure and save it to each of `paths` (the format from the suffix: .png, .svg)."""
    dates = [d.isoformat() for d in points.dates]
    blues, oranges = _date_colours("Blues", len(dates)), _date_colours("Oranges", len(dates))
    figure, axes = plt.subplots(len(points.places), 2, figsize=(13, 2.6 * len(points.places) + 2.2), squeeze=False)
    for row, place in enumerate(points.places):
        _inputs_panel(axes[row, 0], sensitivity[sensitivity.place == place], dates, blues)
        _reports_panel(axes[row, 1], influence[influence.place == place] if len(influence) else influence, dates,
                       oranges)
        axes[row, 0].set_title(f"{place}: which assumption the number of workers rests on", fontsize=10, loc="left")
        axes[row, 1].set_title(f"{place}: which report moves it most", fontsize=10, loc="left")
    axes[-1, 0].set_xlabel("share of the spread in workers present that the assumption takes part in")
    axes[-1, 1].set_xlabel("workers the median or a 90% bound moves by when the report is left out")
    handles = [Patch(color=blues[d], label=f"stock on {date}") for d, date in enumerate(dates)]
    handles.append(Line2D([], [], color="black", lw=2, label="share it explains alone"))
    figure.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.01, 0.995), ncol=len(handles), fontsize=8,
                  frameon=False)
    handles = [Patch(color=oranges[d], label=f"stock on {date}") for d, date in enumerate(dates)]
    handles.append(Patch(facecolor=oranges[-1], alpha=0.35, edgecolor="black", hatch="///",
                         label="unreliable: too few parameter sets left to say how far"))
    figure.legend(handles=handles, loc="upper right", bbox_to_anchor=(0.99, 0.995), ncol=2, fontsize=8,
                  frameon=False)
    note = (f"Left: how much of the uncertainty in the number each assumption accounts for, alone (tick) or through "
            f"its interplay with others (bar); from {samples} base samples of every assumption's range, drawn "
            f"independently. Right: from {particles} posterior parameter sets reweighted as if the report had "
            f"never come in; the number beside the bars is how far the median on {dates[-1]} moves (+: higher "
            f"without the report). labor-stocks explain; sensitivity.csv and influence.csv hold every number.")
    figure.text(0.01, 0.005, "\n".join(textwrap.wrap(note, 190)), fontsize=7.5, color="#444444", va="bottom")
    figure.suptitle(title, y=1.0 + 0.12 / len(points.places), fontsize=12)
    figure.tight_layout(rect=(0, 0.035, 1, 0.965))
    for path in paths:
        figure.savefig(path, format=Path(path).suffix.lstrip(".").lower(), dpi=110, metadata=metadata,
                       bbox_inches="tight")
    plt.close(figure)
