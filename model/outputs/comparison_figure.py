"""The comparison figure: one panel per place, one colour per scenario, the reports on top (`comparison.png`, `.svg`).

Our users brief others with these figures, so the figure is meant to be pasted unchanged:
one panel per place (the four provinces and China by default), one colour per scenario
(the same colour for a scenario's name in every figure), each scenario's median with its
50% and 90% bands, the scenarios' own dated events on a numbered timeline, and the figures
reported in `calibration/reports.csv` drawn on top, so that a reader sees where the
scenarios part and which of them the reports support. The difference view draws each
scenario minus a base scenario, with the bands of the paired differences
(`labor_stocks.outputs.pairing`). Each figure carries the mark `figure_metadata("compare")`,
by which a later comparison knows it may replace it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import textwrap
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.legend_handler import HandlerTuple  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from ..calibration.reports import Report  # noqa: E402
from ..errors import InputError  # noqa: E402
from ..files import figure_metadata  # noqa: E402
from ..world.events import Event  # noqa: E402
from ..world.geography import CHINA, OVERSEAS, cities_in  # noqa: E402
from .pairing import difference_bands  # noqa: E402
from .plotting import _label as event_label  # noqa: E402
from .plotting import quietly, time_axis  # noqa: E402
from .run_folder import ComparedRun  # noqa: E402

SCENARIO_COLOURS: dict[str, str] = {
    "baseline": "#0072B2",
    "border_reopening": "#E69F00",
    "sanctions_enforcement": "#D55E00",
    "northeast_expansion": "#009E73",
    "defection_response": "#CC79A7",
}
"""Fixed colours of the shipped scenarios (Okabe-Ito, readable by colour-blind readers): baseline is always blue."""

OTHER_COLOURS: tuple[str, ...] = ("#56B4E9", "#882255", "#44AA99", "#999933", "#332288", "#AA4499",
                                  "#117733", "#661100", "#6699CC", "#DDAA33")
"""Colours of other scenarios, picked by a checksum of the name so that a name keeps its colour across figures."""

REPORT_COLOUR = "#111111"
QUANTITY_TITLES = {"stock": "workers present", "inflow": "arrivals", "outflow": "departures (repatriation)",
                   "defections": "defections"}
PLACE_TITLES = {"Other": "Other (rest of China)", CHINA: "China (total)"}
_FREQ_WORDS = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year"}


# --- colours and reports ---------------------------------------------------------------------

def scenario_colour(name: str) -> str:
    """The colour of scenario `name` in every figure: fixed for the shipped ones, from a checksum otherwise."""
    if name in SCENARIO_COLOURS:
        return SCENARIO_COLOURS[name]
    return OTHER_COLOURS[zlib.crc32(name.encode("utf-8")) % len(OTHER_COLOURS)]


def colours(runs: Sequence[ComparedRun]) -> dict[str, str]:
    """Colour per run label; two scenarios of one figure never share one (the later one takes the next free)."""
    out: dict[str, str] = {}
    for run in runs:
        colour = scenario_colour(run.name)
        if colour in out.values():
            colour = next(c for c in (*OTHER_COLOURS, *SCENARIO_COLOURS.values()) if c not in out.values())
        out[run.label] = colour
    return out


@dataclass(frozen=True)
class ReportMark:
    """A report as drawn on one panel: a point (with its range), a range, or a bound (at least, at most)."""

    report: Report
    shape: str
    first: dt.date
    last: dt.date
    value: float | None
    low: float | None
    high: float | None


def report_marks(reports: Sequence[Report], quantity: str, place: str) -> list[ReportMark]:
    """The reports that speak about `quantity` in `place`, per day for flows (as the panels are drawn).

    A report of the same place is a point or a range; one of a part of the place (a city
    in a province, a crossing in China) is a lower bound on it; the worldwide figure an
    upper bound on China.
    """
    marks = []
    for report in reports:
        if report.kind != quantity:
            continue
        per_day = 1.0 if quantity == "stock" or report.unit == "workers_per_day" else 1.0 / report.days
        scale = (lambda x: None if x is None else x * per_day)
        value, low, high = scale(report.value), scale(report.low), scale(report.high)
        if report.place == OVERSEAS:
            if place == CHINA and (value if value is not None else high) is not None:
                marks.append(ReportMark(report, "at_most", report.period_start, report.period_end, None, None,
                                        value if value is not None else high))
            continue
        try:
            theirs, mine = set(cities_in(report.place)), set(cities_in(place))
        except KeyError:
            continue
        if theirs == mine:
            if value is not None:
                shape = "point"
            elif low is not None and high is not None:
                shape = "range" if high > low else "point"
                value = low if high <= low else None
            else:
                shape = "at_least" if low is not None else "at_most"
        elif theirs < mine and (value is not None or low is not None):
            shape, low, high, value = "at_least", (value if value is not None else low), None, None
        else:
            continue
        marks.append(ReportMark(report, shape, report.period_start, report.period_end, value, low, high))
    return marks


# --- the figure ------------------------------------------------------------------------------

def _thousands(value: float, _position: int) -> str:
    return f"{value:,.0f}" if abs(value) >= 1 or value == 0 else f"{value:,.1f}"


def _signed_thousands(value: float, _position: int) -> str:
    return "0" if value == 0 else f"{value:+,.0f}"


@dataclass(frozen=True)
class EventGroup:
    """The events of one scenario on one day, shown as one numbered marker."""

    number: int
    labels: tuple[str, ...]
    date: dt.date
    events: tuple[Event, ...]


def event_groups(runs: Sequence[ComparedRun], start: dt.date, end: dt.date) -> list[EventGroup]:
    """Each scenario's own events inside the window, one group per scenario and day, numbered in time order.

    An identical group in several scenarios (a child inheriting its parent's events) is one
    group naming them all.
    """
    seen: dict[tuple[dt.date, str], list[str]] = {}
    events: dict[tuple[dt.date, str], tuple[Event, ...]] = {}
    for run in runs:
        days: dict[dt.date, list[Event]] = {}
        for event in run.scenario.own_events:
            if start <= event.date <= end:
                days.setdefault(event.date, []).append(event)
        for day, group in days.items():
            key = (day, json.dumps([e.as_dict() for e in group], sort_keys=True))
            seen.setdefault(key, []).append(run.label)
            events[key] = tuple(group)
    ordered = sorted(seen, key=lambda key: (key[0], [r.label for r in runs].index(seen[key][0])))
    return [EventGroup(number, tuple(seen[key]), key[0], events[key]) for number, key in enumerate(ordered, start=1)]


def _draw_bands(ax: plt.Axes, series: Sequence[tuple[Sequence[dt.date], pd.DataFrame, str, np.ndarray]]) -> None:
    """Every scenario's bands first, then the medians on top; the first scenario given is drawn uppermost.

    A run of a single period has no line to draw: its median is a dot, its bands bars.
    """
    for dates, rows, colour, divide in reversed(series):
        x = np.asarray(dates, dtype="datetime64[D]")
        if len(dates) == 1:
            ax.vlines(x, rows["p05"] / divide, rows["p95"] / divide, color=colour, alpha=0.35, linewidth=6)
            ax.vlines(x, rows["p25"] / divide, rows["p75"] / divide, color=colour, alpha=0.6, linewidth=6)
            continue
        ax.fill_between(x, rows["p05"] / divide, rows["p95"] / divide, color=colour, alpha=0.13, linewidth=0)
        ax.fill_between(x, rows["p25"] / divide, rows["p75"] / divide, color=colour, alpha=0.30, linewidth=0)
    for dates, rows, colour, divide in reversed(series):
        ax.plot(np.asarray(dates, dtype="datetime64[D]"), rows["median"] / divide, color=colour, linewidth=1.8,
                marker="o" if len(dates) == 1 else None)


def _draw_reports(ax: plt.Axes, marks: Sequence[ReportMark], start: dt.date, end: dt.date) -> None:
    """Reported figures in black: points with error bars, ranges as bars, bounds as triangles."""
    top = ax.get_ylim()[1]
    near = [v for mark in marks if not (mark.last < start or mark.first > end)
            for v in (mark.value, mark.low, mark.high) if v is not None and math.isfinite(v) and top < v <= top * 1.3]
    if near:  # a report a little above the projections: the axis grows to show it
        ax.set_ylim(top=max(near) * 1.05)
    style = dict(color=REPORT_COLOUR, markeredgecolor="white", markeredgewidth=0.6, zorder=6)
    for mark in marks:
        if mark.last < start or mark.first > end:
            continue
        middle = mark.first + (mark.last - mark.first) / 2
        if mark.last > mark.first:  # a flow over a period: its span as a thin line
            y = next(v for v in (mark.value, mark.low, mark.high) if v is not None)
            if y <= top * 1.3:
                ax.plot([mark.first, mark.last + dt.timedelta(days=1)], [y, y], color=REPORT_COLOUR,
                        linewidth=1.0, alpha=0.7, zorder=5, solid_capstyle="butt")
        if mark.shape == "point":
            low = mark.value - mark.low if mark.low is not None else 0.0
            high = mark.high - mark.value if mark.high is not None and math.isfinite(mark.high) else 0.0
            y = mark.value
            if y > top * 1.3:
                _off_scale(ax, middle, top, f"{mark.value:,.0f}", "o")
                continue
            ax.errorbar([middle], [y], yerr=[[low], [high]] if low or high else None, fmt="o", markersize=5,
                        capsize=3, elinewidth=1.2, ecolor=REPORT_COLOUR, **style)
        elif mark.shape == "range":
            ax.errorbar([middle], [(mark.low + mark.high) / 2], yerr=[[(mark.high - mark.low) / 2]], fmt="none",
                        capsize=4, elinewidth=2.2, ecolor=REPORT_COLOUR, zorder=6)
        else:
            bound = mark.low if mark.shape == "at_least" else mark.high
            marker = "^" if mark.shape == "at_least" else "v"
            if bound > top * 1.3:
                label = "worldwide" if mark.report.place == OVERSEAS else mark.report.place
                _off_scale(ax, middle, top, f"{label} at most {bound:,.0f}", marker)
                continue
            ax.plot([middle], [bound], marker=marker, markersize=6, linestyle="", **style)


def _off_scale(ax: plt.Axes, day: dt.date, top: float, text: str, marker: str) -> None:
    """A report far above the projections: marked on the panel's top edge with its value, not stretching the axis."""
    ax.plot([day], [top], marker=marker, markersize=6, color=REPORT_COLOUR, linestyle="", clip_on=False, zorder=6)
    ax.annotate(f"{text} (off scale)", (day, top), xytext=(5, -7), textcoords="offset points", fontsize=6.5,
                color=REPORT_COLOUR, va="center")


def _timeline(ax: plt.Axes, runs: Sequence[ComparedRun], groups: Sequence[EventGroup], palette: dict[str, str],
              start: dt.date, end: dt.date) -> None:
    """The scenarios' events on one row per scenario, numbered; labels of close events are staggered."""
    rows = [run.label for run in runs if any(group.labels[0] == run.label for group in groups)]
    close = max((end - start).days / 70, 1)
    for row, label in enumerate(rows):
        y = len(rows) - 1 - row
        ax.axhline(y, color=palette[label], linewidth=0.8, alpha=0.35)
        previous, level = None, 0
        for group in (g for g in groups if g.labels[0] == label):
            level = (level + 1) % 2 if previous is not None and (group.date - previous).days < close else 0
            previous = group.date
            ax.plot([group.date], [y], marker="o", markersize=4.5, color=palette[label], linestyle="")
            ax.annotate(str(group.number), (group.date, y), xytext=(0, 4 + 7 * level), textcoords="offset points",
                        fontsize=7, fontweight="bold", color=palette[label], ha="center", va="bottom")
    ax.set_ylim(-0.6, max(len(rows) - 0.1, 0.6))
    ax.set_yticks(range(len(rows)), [textwrap.shorten(label, 28, placeholder="...") for label in reversed(rows)],
                  fontsize=7.5)
    for tick, label in zip(ax.get_yticklabels(), reversed(rows)):
        tick.set_color(palette[label])
    ax.set_xlim(*time_axis(start, end))
    ax.tick_params(axis="x", labelsize=7.5, length=2)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title("scenario events (numbered below)", fontsize=8, loc="left", color="#444444")
    locator = mdates.AutoDateLocator(minticks=6, maxticks=14)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


@quietly
def plot_comparison(runs: Sequence[ComparedRun], quantity: str, places: Sequence[str], reports: Sequence[Report],
                    png: Path, svg: Path | None = None, since: dt.date | None = None,
                    relative_to: ComparedRun | None = None) -> None:
    """Draw the scenarios side by side (or their paired differences from `relative_to`) as PNG and SVG."""
    palette = colours(runs)
    start = since or min(run.scenario.start for run in runs)
    end = max(run.scenario.end for run in runs)
    if since is not None and since >= end:
        raise InputError(f"--since: {since} is not before the end of the runs ({end})")
    flow = quantity != "stock"
    freq = _FREQ_WORDS.get(runs[0].scenario.output_freq, runs[0].scenario.output_freq)
    groups = event_groups(runs, start, end)
    timeline_rows = len({group.labels[0] for group in groups})

    columns = min(3, len(places))
    rows = math.ceil(len(places) / columns)
    spare = rows * columns > len(places)
    width = 4.6 * columns + 0.6
    subtitle = _subtitle(runs, relative_to, width)
    footnote = _footnote(groups, reports_drawn=relative_to is None and bool(reports), width=width)
    header = 0.5 + 0.17 * (subtitle.count("\n") + 1)
    footer = 0.15 + 0.13 * (footnote.count("\n") + 1)
    strip = 0.22 * timeline_rows + 0.5 if groups else 0.0
    legend = 0.0 if spare else 0.6
    body = 3.1 * rows + strip + legend
    height = header + body + footer
    figure = plt.figure(figsize=(width, height), layout="constrained")
    figure.get_layout_engine().set(rect=(0, footer / height, 1, body / height), h_pad=0.06, w_pad=0.06)
    grid = figure.add_gridspec(rows + (1 if groups else 0), columns,
                               height_ratios=([strip] if groups else []) + [3.1] * rows)
    offset = 1 if groups else 0
    axes = [figure.add_subplot(grid[offset + i // columns, i % columns]) for i in range(len(places))]
    for ax in axes[1:]:
        ax.sharex(axes[0])

    for ax, place in zip(axes, places):
        if relative_to is not None:
            ax.axhline(0, color=palette[relative_to.label], linewidth=1.8, zorder=3)
        series = []
        for run in runs:
            if relative_to is not None and run is relative_to:
                continue
            spans = run.period_days()
            if relative_to is not None:
                rows_of = difference_bands(run, relative_to, quantity, [place])
            else:
                table = run.table
                rows_of = table[(table["quantity"] == quantity) & (table["place"] == place)]
            dates = [dt.date.fromisoformat(d) for d in rows_of["date"]]
            keep = [i for i, d in enumerate(dates) if d >= start]
            rows_of, dates = rows_of.iloc[keep], [dates[i] for i in keep]
            divide = np.array([spans[d][1] for d in dates], dtype=float) if flow else np.ones(len(dates))
            series.append((dates, rows_of, palette[run.label], divide))
        _draw_bands(ax, series)
        for group in groups:
            ax.axvline(group.date, color=palette[group.labels[0]], linestyle=(0, (2, 2)), linewidth=0.7,
                       alpha=0.55, zorder=1)
        if relative_to is None:
            ax.set_ylim(bottom=0)
            _draw_reports(ax, report_marks(reports, quantity, place), start, end)
            ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
        else:
            ax.yaxis.set_major_formatter(FuncFormatter(_signed_thousands))
        ax.set_title(PLACE_TITLES.get(place, place), fontsize=10, loc="left", fontweight="bold")
        unit = (f"workers per day (average over each {freq})" if flow
                else f"workers (at the end of each {freq})")
        ax.set_ylabel(("difference, " if relative_to is not None else "") + unit, fontsize=8)
        ax.grid(axis="y", color="#e6e6e6", linewidth=0.6)
        ax.tick_params(labelsize=8)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    locator = mdates.AutoDateLocator(minticks=4, maxticks=7)
    axes[0].xaxis.set_major_locator(locator)
    axes[0].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axes[0].set_xlim(*time_axis(start, end))
    for ax in axes:
        ax.tick_params(labelbottom=True)

    if groups:
        _timeline(figure.add_subplot(grid[0, :]), runs, groups, palette, start, end)

    handles, labels = _legend_entries(runs, palette, relative_to, reports_drawn=relative_to is None and bool(reports))
    tuples = {tuple: HandlerTuple(ndivide=None, pad=0)}
    if spare:
        holder = figure.add_subplot(grid[offset + rows - 1, columns - 1])
        holder.axis("off")
        holder.legend(handles, labels, loc="center left", fontsize=8.5, frameon=False, handler_map=tuples,
                      handlelength=2.4)
    else:
        figure.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 5), fontsize=8,
                      frameon=False, handler_map=tuples)
    what = QUANTITY_TITLES[quantity]
    heading = (f"North Korean workers in China: {what}, difference from {relative_to.label}"
               if relative_to is not None else f"North Korean workers in China: {what}, scenarios compared")
    figure.text(0.1 / width, 1 - 0.12 / height, heading, fontsize=13, fontweight="bold", va="top", ha="left")
    figure.text(0.1 / width, 1 - 0.48 / height, subtitle, fontsize=8.5, color="#333333", va="top", ha="left",
                linespacing=1.3)
    figure.text(0.1 / width, 0.08 / height, footnote, fontsize=7, color="#333333", va="bottom", ha="left",
                linespacing=1.35)
    figure.savefig(png, dpi=150, format="png", metadata=figure_metadata("compare"))
    if svg is not None:
        figure.savefig(svg, format="svg", metadata=figure_metadata("compare"))
    plt.close(figure)


def _subtitle(runs: Sequence[ComparedRun], relative_to: ComparedRun | None, width: float) -> str:
    """Which runs: scenarios, seeds, replicates and parameters (posterior), so the figure says how it was made."""
    def same(values: list[Any]) -> bool:
        return len(set(map(str, values))) == 1

    seeds = [run.scenario.seed for run in runs]
    counts = [run.scenario.replicates for run in runs]
    used = [run.record.posterior.used for run in runs]
    parts = [f"Scenarios: {', '.join(run.label for run in runs)}."]
    if same(seeds) and same(counts):
        parts.append(f"Seed {seeds[0]}, {counts[0]} replicates each.")
    else:
        parts.append("; ".join(f"{run.label}: seed {s}, {c} replicates" for run, s, c in zip(runs, seeds, counts))
                     + ".")
    def parameters(used: str) -> str:
        return "the defaults (no calibrated posterior)" if used.startswith("none") else f"drawn from {used}"

    parts.append(f"Parameters: {parameters(used[0])}." if same(used) else
                 "Parameters: " + "; ".join(f"{run.label}: {parameters(u)}" for run, u in zip(runs, used)) + ".")
    if relative_to is not None:
        parts.append(f"Each scenario minus {relative_to.label}, replicate by replicate (same seeds and "
                     f"parameter draws); bands are quantiles of those differences.")
    return textwrap.fill(" ".join(parts), int(width * 15.5))


def _event_text(event: Event) -> str:
    """The projection plot's caption of an event, with the crossing where that caption leaves it out."""
    text = event_label(event)
    if event.type == "capacity":
        text = f"{event.values['crossing']} {text}"
    return text


def _footnote(groups: Sequence[EventGroup], reports_drawn: bool, width: float) -> str:
    """The numbered events and how the reports are drawn, as wrapped text under the panels."""
    notes = [f"({g.number}) {g.date.isoformat()} {' / '.join(g.labels)}: "
             f"{'; '.join(_event_text(e) for e in g.events)}." for g in groups]
    text = ("Scenario events, also dashed in the panels: " + "  ".join(notes)) if notes else \
        "No scenario event inside the window."
    if reports_drawn:
        text += ("  Reported figures (calibration/reports.csv), black: flows per day over their period; a part's "
                 "figure (a city, a crossing) is a lower bound on the whole, the worldwide figure an upper bound "
                 "on China.")
    return textwrap.fill(text, int(width * 18.5))


def _legend_entries(runs: Sequence[ComparedRun], palette: dict[str, str], relative_to: ComparedRun | None,
                    reports_drawn: bool) -> tuple[list[Any], list[str]]:
    """One entry per scenario (its median over its bands), then the key to bands and reports."""
    handles: list[Any] = []
    labels: list[str] = []
    for run in runs:
        colour = palette[run.label]
        if relative_to is not None and run is relative_to:
            handles.append(Line2D([], [], color=colour, linewidth=1.8))
            labels.append(f"{run.label} (the base: zero)")
            continue
        handles.append((Patch(color=colour, alpha=0.13, linewidth=0), Patch(color=colour, alpha=0.30, linewidth=0),
                        Line2D([], [], color=colour, linewidth=1.8)))
        labels.append(run.label)
    grey = "#7f7f7f"
    handles += [Line2D([], [], color=grey, linewidth=1.8), Patch(color=grey, alpha=0.45, linewidth=0),
                Patch(color=grey, alpha=0.18, linewidth=0)]
    labels += ["median across replicates", "50% band", "90% band"]
    if reports_drawn:
        handles += [Line2D([], [], color=REPORT_COLOUR, marker="o", linestyle="-", markersize=5, linewidth=0),
                    Line2D([], [], color=REPORT_COLOUR, marker="^", linestyle="", markersize=6),
                    Line2D([], [], color=REPORT_COLOUR, marker="v", linestyle="", markersize=6)]
        labels += ["reported figure (bar: its range)", "reported: at least", "reported: at most"]
    return handles, labels
