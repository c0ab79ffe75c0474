"""Team defaults: the person a vendor role takes at launch when the launch binds nobody to it.

A default is kept per role and segment; the segment ``any`` is the fallback for
every segment without a default of its own. At launch, each role of the blueprint
that the launch does not bind takes the default for the project's segment, else
the ``any`` one; a role still unbound is a ``missing-binding`` as before. Only
vendor-side roles take defaults: the customer's people differ with every customer,
so a default is refused for a role a blueprint gives the customer
(``customer-role-default``), and never fills one.

The launch records where each binding came from (``binding_sources``): ``launch``,
or ``team:<segment>`` for a default.

Not here: storing defaults (adapters/store), the commands (cli).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from onboarding.core.blueprint import Blueprint, Side
from onboarding.core.messages import Person
from onboarding.errors import Problem

ANY_SEGMENT = "any"
FROM_LAUNCH = "launch"


@dataclass(frozen=True, slots=True)
class TeamDefault:
    """One default: who fills ``role`` for projects of ``segment`` (``any``: every segment without its own)."""

    role: str
    segment: str
    person: Person
    updated_at: datetime
    updated_by: str

    @property
    def source(self) -> str:
        """How a launch's history names a binding made from this default."""
        return f"team:{self.segment}"


@dataclass(frozen=True)
class ResolvedBindings:
    """The people of a launch: those bound, defaults for the rest, where each came from, and what is wrong."""

    people: Mapping[str, Person]
    sources: Mapping[str, str]
    problems: tuple[Problem, ...]


def segment_key(segment: str | None) -> str:
    """The segment a default is kept under: the segment given, else ``any``."""
    return segment.strip() if segment is not None and segment.strip() else ANY_SEGMENT


def customer_roles_named(role: str, blueprints: Iterable[Blueprint]) -> list[str]:
    """The blueprints (``key version``) that give ``role`` to the customer: a default for it is refused."""
    return sorted(
        {f"{bp.key} {bp.version}" for bp in blueprints if role in bp.roles and bp.roles[role].side is Side.customer}
    )


def resolve_bindings(
    blueprint: Blueprint,
    bound: Mapping[str, Person],
    *,
    segment: str | None,
    defaults: Sequence[TeamDefault],
) -> ResolvedBindings:
    """The people of a launch: ``bound`` first, then each vendor role's default for the segment, else ``any``'s.

    A customer-side role left unbound that has a default is a ``customer-role-default``
    problem (it is never filled from it); any other role left unbound is for the
    caller's ``missing-binding`` check.
    """
    by_key = {(d.role, d.segment): d for d in defaults}
    people = dict(bound)
    sources = dict.fromkeys(bound, FROM_LAUNCH)
    problems: list[Problem] = []
    wanted = segment_key(segment)
    for role, spec in blueprint.roles.items():
        if role in people:
            continue
        default = by_key.get((role, wanted)) or by_key.get((role, ANY_SEGMENT))
        if default is None:
            continue
        if spec.side is Side.customer:
            problems.append(
                Problem(
                    "customer-role-default",
                    f"the role {role!r} ({spec.title}) is the customer's: a team default cannot fill it",
                    ("bind", role),
                    "bind the customer's own person to it, and remove the team default for it",
                )
            )
            continue
        people[role] = default.person
        sources[role] = default.source
    return ResolvedBindings(people, sources, tuple(problems))
