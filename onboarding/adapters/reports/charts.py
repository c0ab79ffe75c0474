"""The report's charts: matplotlib figures written as inline SVG, each with a title and a text alternative.

Each function takes report values (``core/ttfv.py``, ``core/portfolio.py``) and returns a ``Chart``:
the ``<svg>`` markup to put straight into the page (no files, no scripts, no
fonts to fetch), with a ``<title>`` and a ``<desc>`` that screen readers announce
and that say in words what the chart shows.

matplotlib is imported inside the functions (it takes about a second), so the
command line's other commands never pay for it; figures are drawn through the
object API (``matplotlib.figure.Figure``), never ``pyplot``, so no global state
is kept between reports. Text stays text in the SVG (``svg.fonttype: none``):
smaller, searchable and read out by the browser. Element ids are prefixed with
the chart's id so that several charts can share one page.

Not here: the page and its tables (``html.py``), computing the figures (core).
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from onboarding.core.portfolio import Bottleneck, SlipBySide
from onboarding.core.report_view import cohort_point_text, cohort_trend_points, group_name, number, percent, shortened
from onboarding.core.ttfv import KM_HORIZONS, TtfvGroup

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Okabe & Ito's palette: told apart by people with any common colour blindness.
PALETTE: Final = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
SIDE_COLOURS: Final = {"customer": "#E69F00", "vendor": "#0072B2"}
TARGET: Final = "#b91c1c"
_WIDTH_INCHES: Final = 7.5
_RC: Final[dict[str, Any]] = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
    "axes.grid": True,
    "grid.color": "#e5e7eb",
    "grid.linewidth": 0.8,
    "legend.frameon": False,
}
_ID = re.compile(r'(\bid="|url\(#|href="#)([A-Za-z_][\w.:-]*)')
_SVG_START = re.compile(r"<svg\b[^>]*>")
_MAX_BARS: Final = 10
MAX_DOTS: Final = 300


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart of the page: its id (an HTML id), title, text alternative and inline SVG."""

    id: str
    title: str
    description: str
    svg: str


def ttfv_distribution(groups: Sequence[TtfvGroup], *, label: str = "blueprint") -> Chart:
    """Box plots of calendar days to first value, one per group, with the projects as dots.

    The box spans p25 to p75 with the median inside, the whiskers p10 to p90 (the
    report's p90); at most ``MAX_DOTS`` dots a group are drawn, evenly spaced by rank,
    so that a portfolio of any size gives a page of the same size.
    """
    title = f"Time to first value by {label} (calendar days)"
    with_values = [g for g in groups if g.reached_calendar_days]
    parts = [
        f"{group_name(g)}: median {number(g.calendar_days.median)} days, p90 {number(g.calendar_days.p90)} days, "
        f"{g.reached} of {g.projects} projects reached first value"
        + (f", target {g.target_calendar_days} days" if g.target_calendar_days is not None else "")
        for g in groups
    ]
    description = (
        f"Box plots of the calendar days from start to first value per {label}: box from p25 to p75 around "
        f"the median, whiskers from p10 to p90, projects as dots (at most {MAX_DOTS} a group, evenly by rank), "
        "the blueprint's target as a red dashed line. "
        + ("; ".join(parts) if parts else "No projects in the report.")
        + "."
    )
    with _figure(height=max(2.2, 0.75 * len(with_values) + 1.2)) as (figure, axes):
        if not with_values:
            _empty(axes, "No project has reached first value yet.")
        else:
            data = [list(g.reached_calendar_days) for g in with_values]
            positions = list(range(len(with_values), 0, -1))  # first group on top
            axes.boxplot(
                data,
                positions=positions,
                orientation="horizontal",
                widths=0.5,
                whis=(10, 90),
                showfliers=False,
                patch_artist=True,
                boxprops={"facecolor": "#dbeafe", "edgecolor": "#1e3a8a"},
                medianprops={"color": "#1e3a8a", "linewidth": 2},
                whiskerprops={"color": "#1e3a8a"},
                capprops={"color": "#1e3a8a"},
            )
            for position, all_values, colour in zip(positions, data, _colours(len(data)), strict=True):
                values = _by_rank(all_values, MAX_DOTS)
                jitter = [position + 0.18 * (((i * 7) % 11) / 10 - 0.5) for i in range(len(values))]
                axes.scatter(values, jitter, s=14, color=colour, alpha=0.8, zorder=3, linewidths=0)
            for position, group in zip(positions, with_values, strict=True):
                if group.target_calendar_days is not None:
                    axes.vlines(
                        group.target_calendar_days, position - 0.38, position + 0.38, colors=TARGET, linestyles="--"
                    )
            axes.set_yticks(positions, [f"{group_name(g)}\n{g.reached} reached" for g in with_values])
            axes.set_xlabel("calendar days from start to first value")
            axes.set_xlim(left=0)
            axes.grid(axis="y", visible=False)
        svg = _svg(figure, "chart-ttfv-distribution")
    return _chart("chart-ttfv-distribution", title, description, svg)


def cohort_trend(groups: Sequence[TtfvGroup]) -> Chart:
    """The Kaplan-Meier median of calendar days to first value per cohort month, and the share still in flight.

    Projects in flight are censored, not dropped (``report_view.cohort_trend_points``):
    a young cohort has no median until half of it reached value, and is drawn then as
    an open triangle at the days it has been followed (the median lies beyond), never
    as a fast cohort. Bars behind the line: the share of each cohort still in flight.
    """
    title = "Time to first value by cohort month (calendar days)"
    points = cohort_trend_points(groups)
    description = (
        "Line chart of the Kaplan-Meier median of calendar days from start to first value, by the month projects "
        "started; projects still in flight are censored, not dropped, so a cohort whose median is not reached yet "
        "is marked by an open triangle at the days it has been followed (its median lies beyond). Bars: the share "
        "of each cohort still in flight. "
        + ("; ".join(cohort_point_text(p) for p in points) if points else "No projects in the report.")
        + "."
    )
    with _figure(height=3.6) as (figure, axes):
        if not any(p.projects for p in points):
            _empty(axes, "No cohort has reached first value yet.")
        else:
            x = list(range(len(points)))
            shares = axes.twinx()
            shares.bar(
                x,
                [100 * (p.in_flight_share or 0.0) for p in points],
                width=0.6,
                color="#e5e7eb",
                label="% still in flight (right)",
            )
            shares.set_ylim(0, 100)
            shares.set_ylabel("% still in flight")
            shares.grid(visible=False)
            shares.spines["right"].set_visible(True)
            axes.set_zorder(shares.get_zorder() + 1)  # the medians over the bars
            axes.patch.set_visible(False)
            known = [(i, p.km_median_days) for i, p in zip(x, points, strict=True) if p.km_median_days is not None]
            axes.plot(
                [i for i, _ in known],
                [v for _, v in known],
                marker="o",
                color=PALETTE[0],
                label="median (Kaplan-Meier)",
            )
            for i, v in known:
                axes.annotate(f"{v}", (i, v), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
            open_points = [
                (i, p.followed_days)
                for i, p in zip(x, points, strict=True)
                if p.km_median_days is None and p.followed_days is not None
            ]
            if open_points:
                axes.scatter(
                    [i for i, _ in open_points],
                    [v for _, v in open_points],
                    marker="^",
                    s=48,
                    facecolors="none",
                    edgecolors=PALETTE[5],
                    linewidths=1.5,
                    zorder=3,
                    label="median not reached yet: beyond the days followed",
                )
                for i, v in open_points:
                    axes.annotate(f"> {v}", (i, v), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8)
            axes.set_xticks(x, [f"{p.label}\n{p.in_flight}/{p.projects} in flight" for p in points])
            axes.set_ylabel("calendar days")
            highest = max([v for _, v in known] + [v for _, v in open_points], default=0)
            axes.set_ylim(0, max(10, 1.25 * highest))  # room above the points for their labels
            axes.set_xlabel("cohort month (still in flight / started)")
            handles, labels = axes.get_legend_handles_labels()
            more_handles, more_labels = shares.get_legend_handles_labels()
            axes.legend(  # above the plot, never over the points
                handles + more_handles,
                labels + more_labels,
                loc="lower left",
                bbox_to_anchor=(0.0, 1.02),
                ncols=2,
                fontsize=8,
            )
        svg = _svg(figure, "chart-cohort-trend")
    return _chart("chart-cohort-trend", title, description, svg)


def kaplan_meier(groups: Sequence[TtfvGroup], *, total: TtfvGroup | None = None) -> Chart:
    """Kaplan-Meier curves: the estimated share of projects at first value by day, projects in flight included."""
    title = "Share of projects at first value, by days since start (Kaplan-Meier)"
    shown = [(group_name(g), g) for g in groups if g.km_curve]
    if total is not None and len(shown) > 1 and total.km_curve:
        shown.append(("all projects", total))
    parts = [
        f"{name}: "
        + ", ".join(f"{percent(s.share)} within {s.days} days" for s in g.within)
        + f" ({g.projects} projects, {g.in_flight + g.stopped} not at value)"
        for name, g in shown
    ]
    description = (
        "Step curves of the Kaplan-Meier estimate of the share of projects that reached first value by each day "
        "since their start; projects still in flight count as censored, not as failures. "
        + ("; ".join(parts) if parts else "No projects in the report.")
        + "."
    )
    with _figure(height=3.4) as (figure, axes):
        if not shown:
            _empty(axes, "No started projects.")
        else:
            for (name, group), colour in zip(shown, _colours(len(shown)), strict=True):
                days = [p.day for p in group.km_curve]
                shares = [100 * p.share_reached for p in group.km_curve]
                style = "--" if name == "all projects" else "-"
                axes.step(days, shares, where="post", color=colour, linestyle=style, label=name, linewidth=1.8)
            for horizon in KM_HORIZONS:
                axes.axvline(horizon, color="#9ca3af", linewidth=0.8, linestyle=":")
            axes.set_ylim(0, 100)
            axes.set_xlim(left=0)
            axes.set_ylabel("% at first value")
            axes.set_xlabel("calendar days since start (dotted: 30, 60, 90)")
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)  # beside the curves, never over them
        svg = _svg(figure, "chart-kaplan-meier")
    return _chart("chart-kaplan-meier", title, description, svg)


def bottlenecks(items: Sequence[Bottleneck], *, kind: str = "tasks") -> Chart:
    """Horizontal bars: the tasks (or milestones) with the most slip across projects, most first."""
    chart_id = f"chart-bottleneck-{kind}"
    top = list(items[:_MAX_BARS])
    title = f"Bottleneck {kind}: days slipped across projects"
    parts = [f"{b.title} ({b.blueprint_key}): {b.slip_days} days over {b.projects} projects" for b in top]
    description = (
        f"Bar chart of the {len(top)} {kind} with the most slip (days late, summed over projects). "
        + ("; ".join(parts) if parts else f"No {kind} slipped.")
        + "."
    )
    with _figure(height=max(2.2, 0.5 * len(top) + 1.0)) as (figure, axes):
        if not top:
            _empty(axes, f"No {kind} slipped.")
        else:
            positions = list(range(len(top), 0, -1))
            bars = axes.barh(positions, [b.slip_days for b in top], color=PALETTE[0], height=0.6)
            axes.bar_label(bars, [f"{b.slip_days} d, {b.projects} proj." for b in top], padding=3, fontsize=8)
            axes.set_yticks(positions, [f"{shortened(b.title, 36)}\n{shortened(b.blueprint_key, 36)}" for b in top])
            axes.set_xlabel("days slipped, summed over projects")
            _whole_days(axes)
            axes.margins(x=0.18)
            axes.grid(axis="y", visible=False)
        svg = _svg(figure, chart_id)
    return _chart(chart_id, title, description, svg)


def slip_by_side(items: Sequence[SlipBySide]) -> Chart:
    """Horizontal bars: slip days attributed to the customer's side and to the vendor's."""
    title = "Slip by side: customer vs vendor (days)"
    parts = [f"{s.side}: {s.slip_days} days over {s.tasks} tasks ({percent(s.share)})" for s in items]
    description = (
        "Bar chart of the days tasks slipped, by the side that owned them. "
        + ("; ".join(parts) if parts else "No slip.")
        + "."
    )
    with _figure(height=2.0) as (figure, axes):
        if not any(s.slip_days for s in items):
            _empty(axes, "No task slipped.")
        else:
            positions = list(range(len(items), 0, -1))
            colours = [SIDE_COLOURS.get(s.side, PALETTE[2]) for s in items]
            bars = axes.barh(positions, [s.slip_days for s in items], color=colours, height=0.6)
            axes.bar_label(bars, [f"{s.slip_days} d ({percent(s.share)})" for s in items], padding=3, fontsize=9)
            axes.set_yticks(positions, [s.side for s in items])
            axes.set_xlabel("days slipped")
            _whole_days(axes)
            axes.margins(x=0.2)
            axes.grid(axis="y", visible=False)
        svg = _svg(figure, "chart-slip-by-side")
    return _chart("chart-slip-by-side", title, description, svg)


# -- drawing ------------------------------------------------------------------


@contextmanager
def _figure(*, height: float) -> Iterator[tuple[Figure, Axes]]:
    import matplotlib as mpl  # imported here, not at the top: it takes about a second
    from cycler import cycler
    from matplotlib.figure import Figure

    settings: Any = {**_RC, "axes.prop_cycle": cycler(color=PALETTE)}  # matplotlib types rc keys as literals
    with mpl.rc_context(settings):
        figure = Figure(figsize=(_WIDTH_INCHES, height), layout="constrained")
        yield figure, figure.add_subplot()


def _svg(figure: Figure, chart_id: str) -> str:
    """The figure as SVG markup for inline use: no XML prolog, no fixed size, ids prefixed by the chart's."""
    import matplotlib as mpl

    out = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": chart_id, "svg.fonttype": "none"}):
        figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    markup = out.getvalue()
    markup = markup[markup.index("<svg") :]
    return _ID.sub(lambda match: f"{match.group(1)}{chart_id}-{match.group(2)}", markup)


def _chart(chart_id: str, title: str, description: str, svg: str) -> Chart:
    """The chart with its root element made responsive and announced as an image, titled and described."""
    start = _SVG_START.search(svg)
    assert start is not None, "matplotlib wrote no <svg> element"  # noqa: S101 - matplotlib's contract
    root = re.sub(r'\s(width|height)="[^"]*"', "", start.group(0))
    root = root.replace(
        "<svg",
        f'<svg class="chart" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc"',
        1,
    )
    labels = (
        f'<title id="{chart_id}-title">{html.escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{html.escape(description)}</desc>'
    )
    return Chart(chart_id, title, description, svg[: start.start()] + root + labels + svg[start.end() :])


def _by_rank(values: Sequence[int], most: int) -> list[int]:
    """At most ``most`` of the sorted ``values``, evenly spaced by rank (the first and last kept)."""
    if len(values) <= most:
        return list(values)
    last = len(values) - 1
    return [values[round(i * last / (most - 1))] for i in range(most)]


def _whole_days(axes: Axes) -> None:
    """Ticks on whole days only: a count of days has no 0.2."""
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))


def _empty(axes: Axes, message: str) -> None:
    axes.set_axis_off()
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes, color="#6b7280")


def _colours(count: int) -> list[str]:
    return [PALETTE[i % len(PALETTE)] for i in range(count)]
