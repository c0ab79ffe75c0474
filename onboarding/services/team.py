"""The team's default people for vendor roles: set, list and unset them (``core/team`` says how launches use them).

A default is refused for a role that a stored blueprint gives the customer
(``customer-role-default``): the customer's people differ with every customer.

Not here: the launch (``services/projects``), SQL (adapters/store).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from onboarding.core.addresses import canonical_person, person_problems
from onboarding.core.blueprint import KEY_PATTERN, Blueprint
from onboarding.core.messages import Person
from onboarding.core.team import TeamDefault, customer_roles_named, segment_key
from onboarding.errors import BlueprintInvalid, PlanInputInvalid, Problem
from onboarding.services.ports import BlueprintSource, Clock, SnapshotTexts, TeamStore


@dataclass(frozen=True)
class DefaultSet:
    default: TeamDefault
    replaced: TeamDefault | None  # the default there was for this role and segment
    known_role: bool  # False: no stored blueprint has this role yet


class TeamService:
    def __init__(
        self, *, store: TeamStore, snapshots: SnapshotTexts, blueprints: BlueprintSource, clock: Clock
    ) -> None:
        self._store = store
        self._snapshots = snapshots
        self._blueprints = blueprints
        self._clock = clock

    def defaults(self) -> list[TeamDefault]:
        return self._store.team_defaults()

    def set(self, role: str, person: Person, *, segment: str | None = None, by: str = "cli") -> DefaultSet:
        """Keep ``person`` as the default for a vendor role in a segment (``any`` when none is given)."""
        role = role.strip()
        problems: list[Problem] = []
        if not re.fullmatch(KEY_PATTERN, role):
            problems.append(
                Problem(
                    "invalid-binding",
                    f"{role!r} is not a role key",
                    ("role",),
                    "a role key is lower case letters, digits and _, as the blueprint declares it",
                )
            )
        problems += [replace(p, loc=("person",)) for p in person_problems({role: person})]
        stored = self._stored_blueprints()
        customer_in = customer_roles_named(role, stored)
        if customer_in:
            problems.append(
                Problem(
                    "customer-role-default",
                    f"the role {role!r} is filled by the customer in {', '.join(customer_in)}: "
                    "a team default is for vendor roles",
                    ("role",),
                    "bind the customer's person at each launch instead",
                )
            )
        if problems:
            raise PlanInputInvalid("team default", tuple(problems))
        key = segment_key(segment)
        before = next((d for d in self._store.team_defaults() if (d.role, d.segment) == (role, key)), None)
        default = TeamDefault(role, key, canonical_person(person), self._clock.now(), by)
        self._store.set_team_default(default)
        return DefaultSet(default, before, known_role=any(role in bp.roles for bp in stored))

    def unset(self, role: str, *, segment: str | None = None) -> TeamDefault:
        """Remove the default of a role in a segment (``any`` when none is given); returns what was removed."""
        key = segment_key(segment)
        before = next((d for d in self._store.team_defaults() if (d.role, d.segment) == (role, key)), None)
        if before is None or not self._store.unset_team_default(role, key):
            raise PlanInputInvalid(
                "team default",
                (
                    Problem(
                        "team-default-not-found",
                        f"no team default for the role {role!r} in the segment {key!r}",
                        ("role",),
                        "see the list of team defaults for the roles and segments that have one",
                    ),
                ),
            )
        return before

    def _stored_blueprints(self) -> list[Blueprint]:
        """The blueprints projects were launched from that still read (a stricter engine may refuse an old one)."""
        found: list[Blueprint] = []
        for text, source in self._snapshots.snapshots().values():
            try:
                found.append(self._blueprints.parse(text, source=source).blueprint)
            except BlueprintInvalid:
                continue
        return found
