"""Planning use cases: validate blueprints, plan a project from one.

Not here: how blueprints are read (a ``BlueprintSource``), how plans are shown
(the CLI), the rules of planning (``core``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from onboarding.core.blueprint_versions import parse_blueprint_ref
from onboarding.core.customer_calendar import CustomerCalendar, customer_calendar
from onboarding.core.payroll import PaySchedule, parse_pay_schedule
from onboarding.core.planning import Plan, plan_project
from onboarding.errors import BlueprintInvalid, PlanInputInvalid, ProblemsError
from onboarding.services.blueprints import BlueprintRegistry
from onboarding.services.heap import cycle_collector_paused
from onboarding.services.ports import BlueprintSource, Clock, LoadedBlueprint


@dataclass(frozen=True)
class Validation:
    """The outcome of validating one blueprint: loaded, or the error listing its problems."""

    ref: str
    loaded: LoadedBlueprint | None
    error: ProblemsError | None

    @property
    def ok(self) -> bool:
        return self.error is None


class PlanningService:
    """Validate blueprint files; plan a blueprint a reference names (with a ``registry``: a published ``KEY`` or
    ``KEY@VERSION`` as well as a file). A plan stores nothing: a file planned is not published.

    ``registry`` gives the registry when a reference first needs it, so that validating
    or planning files never opens the database.
    """

    def __init__(
        self, *, blueprints: BlueprintSource, clock: Clock, registry: Callable[[], BlueprintRegistry] | None = None
    ) -> None:
        self._blueprints = blueprints
        self._clock = clock
        self._registry = registry

    def _load(self, ref: str) -> LoadedBlueprint:
        if self._registry is None or parse_blueprint_ref(ref) is None:
            return self._blueprints.load(ref)
        return self._registry().load(ref)

    def validate(
        self, refs: list[str], *, kickoff_on: date | None = None, pay_schedule: str | None = None
    ) -> list[Validation]:
        """Check each blueprint; where it can be planned, also check its launch window can be met.

        The trial plan starts at ``kickoff_on`` (today by default) with the given pay
        schedule or the blueprint's default one.
        """
        results: list[Validation] = []
        for ref in refs:
            try:
                with cycle_collector_paused():
                    loaded = self._blueprints.load(ref)
                    bp = loaded.blueprint
                    spec = pay_schedule or bp.pay_schedule
                    if bp.launch_window is None or spec is not None:
                        self._plan(loaded, kickoff_on=kickoff_on or self._clock.today(), pay_schedule=spec)
            except ProblemsError as exc:
                error = exc if isinstance(exc, BlueprintInvalid) else BlueprintInvalid(exc.source, exc.problems)
                results.append(Validation(ref, None, error))
            else:
                results.append(Validation(ref, loaded, None))
        return results

    def plan(
        self,
        ref: str,
        *,
        kickoff_on: date,
        pay_schedule: str | None = None,
        customer_country: str | None = None,
        customer_subdivision: str | None = None,
        customer_closed_days: Sequence[date | str] = (),
    ) -> Plan:
        """A dated plan; the pay schedule is the given spec or the blueprint's default; the customer's own calendar
        as a launch would take it (``core/customer_calendar``)."""
        with cycle_collector_paused():
            loaded = self._load(ref)
            own, problems = customer_calendar(
                blueprint=loaded.blueprint,
                country=customer_country,
                subdivision=customer_subdivision,
                closed_days=customer_closed_days,
            )
            if problems:
                raise PlanInputInvalid("plan", tuple(problems))
            return self._plan(
                loaded,
                kickoff_on=kickoff_on,
                pay_schedule=pay_schedule or loaded.blueprint.pay_schedule,
                customer=own,
            )

    def plan_published(
        self, key: str, *, version: str | None = None, kickoff_on: date, pay_schedule: str | None = None
    ) -> Plan:
        """A dated plan of a published blueprint (its latest version, or ``version``); never reads a file."""
        if self._registry is None:
            raise RuntimeError("planning a published blueprint needs the registry")
        with cycle_collector_paused():
            loaded = self._registry().show(key, version=version).loaded
            return self._plan(loaded, kickoff_on=kickoff_on, pay_schedule=pay_schedule or loaded.blueprint.pay_schedule)

    @staticmethod
    def _plan(
        loaded: LoadedBlueprint, *, kickoff_on: date, pay_schedule: str | None, customer: CustomerCalendar | None = None
    ) -> Plan:
        schedule: PaySchedule | None = parse_pay_schedule(pay_schedule) if pay_schedule else None
        try:
            return plan_project(
                loaded.blueprint,
                kickoff_on=kickoff_on,
                pay_schedule=schedule,
                graph=loaded.graph,
                customer_calendar=customer,
            )
        except ProblemsError as exc:
            # Problems of the blueprint's own fields (its launch window) get their file position.
            exc.problems = tuple(loaded.locate(p) if p.loc and p.loc[0] != "kickoff_on" else p for p in exc.problems)
            exc.source = loaded.source
            raise
