"""Planning use cases: validate blueprints, plan a project from one.

Not here: how blueprints are read (a ``BlueprintSource``), how plans are shown
(the CLI), the rules of planning (``core``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from onboarding.core.payroll import PaySchedule, parse_pay_schedule
from onboarding.core.planning import Plan, plan_project
from onboarding.errors import BlueprintInvalid, OnboardingError, ProblemsError
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
    def __init__(self, *, blueprints: BlueprintSource, clock: Clock) -> None:
        self._blueprints = blueprints
        self._clock = clock

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
                loaded = self._blueprints.load(ref)
                bp = loaded.blueprint
                spec = pay_schedule or bp.pay_schedule
                if bp.launch_window is None or spec is not None:
                    plan_project(
                        bp,
                        kickoff_on=kickoff_on or self._clock.today(),
                        pay_schedule=parse_pay_schedule(spec) if spec else None,
                    )
            except ProblemsError as exc:
                if not isinstance(exc, BlueprintInvalid):
                    exc = BlueprintInvalid(ref, exc.problems)
                results.append(Validation(ref, None, exc))
            else:
                results.append(Validation(ref, loaded, None))
        return results

    def plan(self, ref: str, *, kickoff_on: date, pay_schedule: str | None = None) -> Plan:
        """A dated plan; the pay schedule is the given spec or the blueprint's default."""
        loaded = self._blueprints.load(ref)
        spec = pay_schedule or loaded.blueprint.pay_schedule
        schedule: PaySchedule | None = parse_pay_schedule(spec) if spec else None
        try:
            return plan_project(loaded.blueprint, kickoff_on=kickoff_on, pay_schedule=schedule)
        except ProblemsError as exc:
            exc.source = loaded.source
            raise


__all__ = ["OnboardingError", "PlanningService", "Validation"]
