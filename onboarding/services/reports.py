"""Manager reports: time to first value by group, and portfolio health, as of a day.

The service reads the store's set-based answers (for TTFV, each project already
observed as of the report's day; for the portfolio, each snapshot's task graph
says which tasks wait for which) and asks the core for the figures. Snapshots are
parsed once per service. Every count a manager reads can be opened: ``ttfv_projects``
and ``portfolio_projects`` give the ids of the projects behind it (the core's
``ttfv_members`` and ``portfolio_members``, held equal to the figures by tests; the
store lists a portfolio figure's projects without reading every task).

Not here: the figures (core/ttfv.py, core/portfolio.py), SQL (adapters/store/reports.py),
presentation (cli/, the HTML report).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from onboarding.core.portfolio import PortfolioFigure, PortfolioReport, ranked_portfolio
from onboarding.core.ttfv import Dimension, TtfvFigure, TtfvReport, ttfv_members, ttfv_report
from onboarding.errors import Problem, ReportInputInvalid
from onboarding.services.ports import BlueprintSource, Clock, LoadedBlueprint, ReportStore


def one_report_day(*days: date | None) -> date | None:
    """The one day a report is asked as of, when it may be given in several places (``report --as-of D ttfv``
    and ``report ttfv --as-of D``); None when none is given. Two different days are refused, never one
    silently preferred."""
    given = sorted({d for d in days if d is not None})
    if len(given) > 1:
        raise ReportInputInvalid(
            "report",
            (
                Problem(
                    "conflicting-as-of",
                    f"the report is asked as of two different days: {', '.join(d.isoformat() for d in given)}",
                    ("as_of",),
                    "ask for one day",
                ),
            ),
        )
    return given[0] if given else None


def _check_period(since: date | None, until: date | None) -> None:
    if since is not None and until is not None and since > until:
        raise ReportInputInvalid(
            "report",
            (
                Problem(
                    "invalid-period",
                    f"the period starts {since.isoformat()}, after it ends ({until.isoformat()})",
                    ("since",),
                    "give a first day on or before the last day",
                ),
            ),
        )


class ReportService:
    def __init__(self, *, store: ReportStore, blueprints: BlueprintSource, clock: Clock) -> None:
        self._store = store
        self._blueprints = blueprints
        self._clock = clock
        self._parsed: dict[str, LoadedBlueprint] = {}

    def ttfv(
        self,
        *,
        by: Sequence[Dimension] = (Dimension.blueprint,),
        since: date | None = None,
        until: date | None = None,
        as_of: date | None = None,
    ) -> TtfvReport:
        """TTFV per group of ``by`` for projects whose start day is in [since, until]."""
        _check_period(since, until)
        dimensions = tuple(dict.fromkeys(by))
        day = as_of or self._clock.today()
        observed = self._store.ttfv_observations(as_of=day, dimensions=dimensions, since=since, until=until)
        return ttfv_report(observed, as_of=day, dimensions=dimensions, since=since, until=until)

    def ttfv_projects(
        self,
        figure: TtfvFigure,
        *,
        by: Sequence[Dimension] = (Dimension.blueprint,),
        key: Sequence[str] = (),
        since: date | None = None,
        until: date | None = None,
        as_of: date | None = None,
    ) -> tuple[str, ...]:
        """The ids of the projects a count of the group ``key`` (a value per ``by``; empty: the total) of
        ``ttfv(by=by, since=since, until=until, as_of=as_of)`` counts."""
        dimensions = tuple(dict.fromkeys(by))
        _check_period(since, until)
        if key and len(key) != len(dimensions):
            raise ReportInputInvalid(
                "report",
                (
                    Problem(
                        "invalid-group",
                        f"the group {' / '.join(key)!r} has {len(key)} values for {len(dimensions)} groupings",
                        ("key",),
                        "give one value for each grouping, in the order of the groupings, or none for all projects",
                    ),
                ),
            )
        rows, project_ids = self._store.ttfv_rows(dimensions=dimensions, key=tuple(key), since=since, until=until)
        day = as_of or self._clock.today()
        return ttfv_members(
            rows, project_ids, figure, key=key, as_of=day, dimensions=dimensions, since=since, until=until
        )

    def portfolio(
        self, *, as_of: date | None = None, top: int = 10, at_risk_limit: int | None = None
    ) -> PortfolioReport:
        """On-time launches, projects at risk (the first ``at_risk_limit``, all when None, and their total),
        bottlenecks, slip by side and waits before start: counted by the store, ranked by the core."""
        day = as_of or self._clock.today()
        tallies = self._store.portfolio_tallies(as_of=day, predecessors=self.predecessors())
        return ranked_portfolio(tallies, as_of=day, top=top, at_risk_limit=at_risk_limit)

    def portfolio_projects(
        self, figure: PortfolioFigure, *, item: str | None = None, as_of: date | None = None
    ) -> tuple[str, ...]:
        """The ids of the projects a figure of ``portfolio(as_of=as_of)`` counts (``item``: which bottleneck,
        ``blueprint/key``, or which side of the slip)."""
        return self._store.portfolio_members(figure, as_of=as_of or self._clock.today(), item=item)

    def predecessors(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """Each snapshot's tasks' predecessors (every kind of dependency, each once), by snapshot id."""
        predecessors: dict[str, dict[str, tuple[str, ...]]] = {}
        for snapshot_id, (text, source) in self._store.snapshots().items():
            graph = self._blueprint(snapshot_id, text, source).graph
            predecessors[snapshot_id] = {
                task.key: tuple(dict.fromkeys(edge.predecessor for edge in graph.predecessors[task.key]))
                for task in graph.tasks
            }
        return predecessors

    def _blueprint(self, snapshot_id: str, text: str, source: str) -> LoadedBlueprint:
        if snapshot_id not in self._parsed:
            self._parsed[snapshot_id] = self._blueprints.parse(text, source=source)
        return self._parsed[snapshot_id]
