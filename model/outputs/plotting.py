"""projection.png: one panel per province (and China), median with 50% and 90% bands.

Each stock panel shows the median across replicates and the bands between the 25th and
75th, and the 5th and 95th percentiles; dashed lines mark the scenario's own events (named
by number, listed in the legend), dotted grey lines the shared history's. Reported figures from
`calibration/reports.csv` are drawn on top: a stock reported for the province (or China) as
a point with its range; a city's stock as a lower bound on its province; the worldwide
("overseas") figure as an upper bound on China. The sixth panel shows outflow (repatriation)
from China in workers per day, with the reported outflows of any place as segments over
their periods: what "about 200 a day out of Dandong" looks like against the model.
"""

from __future__ import annotations

import datetime as dt
import functools
import textwrap
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from ..world.events import Event  # noqa: E402
from ..world.geography import CHINA, OVERSEAS, PROVINCES, CITIES, city_name  # noqa: E402
from ..calibration.reports import Report  # noqa: E402
from ..scenarios.scenario import Scenario  # noqa: E402

STOCK_PANELS: tuple[str, ...] = (*PROVINCES, CHINA)
BAND_COLOR = "#1f77b4"
OWN_EVENT_COLOR = "#d62728"
HISTORY_EVENT_COLOR = "#9a9a9a"
REPORT_COLOR = "#2ca02c"
_PROVINCE_OF_CITY = {city.name: city.province for city in CITIES}


def quietly(draw: Callable[..., None]) -> Callable[..., None]:
    """Draw without matplotlib's and numpy's warnings (a date axis of one day, a band of empty values):
    they speak to the programmer, not to the analyst reading the terminal, and the figure is right."""
    @functools.wraps(draw)
    def drawn(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            return draw(*args, **kwargs)
    return drawn


def time_axis(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The limits of a time axis from `start` to `end`: a run of a single day gets a day on each side."""
    if start >= end:
        return start - dt.timedelta(days=1), end + dt.timedelta(days=1)
    return start, end


def _thousands(value: float, _position: int) -> str:
    return f"{value:,.0f}"


def _label(event: Event) -> str:
    """A short caption for a scenario's event, e.g. 'dispatch 500 to Hunchun' (the event's own)."""
    return event.caption()


def _band(ax: plt.Axes, rows: pd.DataFrame, divide: np.ndarray | None = None) -> None:
    dates = pd.to_datetime(rows["date"]).to_numpy()
    scale = 1.0 if divide is None else divide
    ax.fill_between(dates, rows["p05"] / scale, rows["p95"] / scale, color=BAND_COLOR, alpha=0.18, linewidth=0,
                    step=None)
    ax.fill_between(dates, rows["p25"] / scale, rows["p75"] / scale, color=BAND_COLOR, alpha=0.38, linewidth=0)
    ax.plot(dates, rows["median"] / scale, color=BAND_COLOR, linewidth=1.6)


def _numbered_events(scenario: Scenario, start: dt.date, end: dt.date) -> list[tuple[int, Event]]:
    """The scenario's own events inside the plotted window, numbered from 1 for the legend."""
    return [(number, event) for number, event in
            enumerate((e for e in scenario.own_events if start <= e.date <= end), start=1)]


def _events(ax: plt.Axes, scenario: Scenario, start: dt.date, end: dt.date) -> None:
    """History events as dotted grey lines; the scenario's as dashed red lines numbered at the top."""
    own = set(id(e) for e in scenario.own_events)
    history_days = sorted({e.date for e in scenario.events if id(e) not in own and start <= e.date <= end})
    for day in history_days:
        ax.axvline(day, color=HISTORY_EVENT_COLOR, linestyle=":", linewidth=0.8, zorder=0)
    close = max((end - start).days // 40, 1)
    previous, row = None, 0
    for number, event in _numbered_events(scenario, start, end):
        ax.axvline(event.date, color=OWN_EVENT_COLOR, linestyle="--", linewidth=1.0, zorder=1)
        row = row + 1 if previous is not None and (event.date - previous).days < close else 0
        previous = event.date
        ax.annotate(str(number), xy=(event.date, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(2, -3 - 8 * row), textcoords="offset points", fontsize=7, fontweight="bold",
                    color=OWN_EVENT_COLOR, va="top", ha="left")


def _stock_reports(ax: plt.Axes, panel: str, reports: Sequence[Report], start: dt.date, end: dt.date) -> None:
    for report in reports:
        if report.kind != "stock" or not start <= report.period_start <= end:
            continue
        day = report.period_start
        low = report.low if report.low is not None else report.value
        high = report.high if report.high is not None else report.value
        if report.place == panel:
            if low is not None and high is not None and low != high:
                ax.vlines(day, low, high, color=REPORT_COLOR, linewidth=2)
            if report.value is not None:
                ax.plot(day, report.value, "o", color=REPORT_COLOR, markersize=5, markeredgecolor="black")
        elif city_name(report.place) and _PROVINCE_OF_CITY.get(city_name(report.place)) == panel:
            bound = low if low is not None else report.value
            if bound is not None:
                ax.plot(day, bound, "^", color=REPORT_COLOR, markersize=6, markeredgecolor="black")
        elif report.place == OVERSEAS and panel == CHINA:
            bound = high if high is not None else report.value
            if bound is None:
                continue
            top = ax.get_ylim()[1]
            if bound <= top * 1.3:
                ax.plot(day, bound, "v", color=REPORT_COLOR, markersize=6, markeredgecolor="black")
                ax.annotate("worldwide", (day, bound), xytext=(4, 0), textcoords="offset points",
                            fontsize=6.5, color=REPORT_COLOR, va="center")
            else:  # far above the projection: marked at the panel's top edge, with its value
                ax.plot(day, top, "v", color=REPORT_COLOR, markersize=6, markeredgecolor="black", clip_on=False)
                ax.annotate(f"worldwide {bound:,.0f} (off scale)", (day, top), xytext=(4, -6),
                            textcoords="offset points", fontsize=6.5, color=REPORT_COLOR, va="center")


def _flow_reports(ax: plt.Axes, reports: Sequence[Report], start: dt.date, end: dt.date) -> None:
    for report in reports:
        if report.kind != "outflow" or report.period_end < start or report.period_start > end:
            continue
        per_day = 1.0 if report.unit == "workers_per_day" else 1.0 / report.days
        span = [report.period_start, report.period_end + dt.timedelta(days=1)]
        middle = report.period_start + (report.period_end - report.period_start) / 2
        if report.value is not None:
            rate = report.value * per_day
            ax.plot(span, [rate, rate], color=REPORT_COLOR, linewidth=2.2, solid_capstyle="butt")
            ax.annotate(report.place, (middle, rate), xytext=(0, 3), textcoords="offset points", fontsize=6,
                        color=REPORT_COLOR, ha="center")
        elif report.high is not None and report.high > 0:
            low = (report.low or 0.0) * per_day
            ax.vlines(middle, low, report.high * per_day, color=REPORT_COLOR, linewidth=1.2)


@quietly
def plot_projection(table: pd.DataFrame, scenario: Scenario, reports: Sequence[Report], path: Path,
                    replicates: int) -> None:
    """Draw `table` (the projection of `scenario`) with `reports` on top, and save it as a PNG at `path`."""
    start, end = scenario.start, scenario.end
    figure, axes = plt.subplots(2, 3, figsize=(15, 8.5), sharex=True, constrained_layout=True)
    panels = list(axes.ravel())
    for ax, place in zip(panels, STOCK_PANELS):
        rows = table[(table["quantity"] == "stock") & (table["place"] == place)]
        _band(ax, rows)
        _events(ax, scenario, start, end)
        _stock_reports(ax, place, reports, start, end)
        title = "Other (rest of China)" if place == "Other" else ("China (total)" if place == CHINA else place)
        ax.set_title(f"{title}: workers present", fontsize=10)
        ax.set_ylabel("workers")
        ax.set_ylim(bottom=0)

    flows = panels[5]
    rows = table[(table["quantity"] == "outflow") & (table["place"] == CHINA)]
    ends = [start - dt.timedelta(days=1), *pd.to_datetime(rows["date"]).dt.date]
    days = np.array([(later - earlier).days for earlier, later in zip(ends, ends[1:])], dtype=float)
    _band(flows, rows, divide=days)
    _events(flows, scenario, start, end)
    _flow_reports(flows, reports, start, end)
    flows.set_title("China: outflow (repatriation)", fontsize=10)
    flows.set_ylabel("workers per day (period average)")
    flows.set_ylim(bottom=0)

    for ax in panels:
        ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
        locator = mdates.AutoDateLocator(minticks=4, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.set_xlim(*time_axis(start, end))
        ax.grid(axis="y", color="#e6e6e6", linewidth=0.6)
        ax.tick_params(labelsize=8, labelbottom=True)

    handles = [
        Line2D([], [], color=BAND_COLOR, linewidth=1.6, label="median"),
        Patch(color=BAND_COLOR, alpha=0.5, label="50% band"),
        Patch(color=BAND_COLOR, alpha=0.2, label="90% band"),
        Line2D([], [], color=OWN_EVENT_COLOR, linestyle="--", label="scenario event"),
        Line2D([], [], color=HISTORY_EVENT_COLOR, linestyle=":", label="history event"),
        Line2D([], [], color=REPORT_COLOR, marker="o", markeredgecolor="black", linestyle="", label="reported"),
        Line2D([], [], color=REPORT_COLOR, marker="^", markeredgecolor="black", linestyle="",
               label="reported for a city (lower bound)"),
        Line2D([], [], color=REPORT_COLOR, marker="v", markeredgecolor="black", linestyle="",
               label="worldwide (upper bound)"),
    ]
    for number, event in _numbered_events(scenario, start, end):
        handles.append(Line2D([], [], color=OWN_EVENT_COLOR, marker=f"${number}$", linestyle="", markersize=7,
                              label=f"{event.date.isoformat()} {_label(event)}"))
    columns = 4 if len(handles) > 8 else len(handles)
    figure.legend(handles=handles, loc="outside lower center", ncols=columns, fontsize=8, frameon=False)
    description = textwrap.shorten(scenario.description, 170, placeholder=" ...") if scenario.description else ""
    figure.suptitle(f"Scenario {scenario.name}: North Korean workers in China, {replicates} replicates"
                    + (f"\n{description}" if description else ""), fontsize=11)
    figure.savefig(path, dpi=110)
    plt.close(figure)
