"""The customer's own calendar and time zone, per project: what a launch may say, its checks, its calendars.

A blueprint names one customer calendar (country, subdivision, closed days) for
every customer it is run for. A launch may say where this customer is:

- a country given: the customer's business days are that country's public
  holidays (of the subdivision given, if any) plus the closed days given; the
  blueprint's customer place and its customer closed days no longer apply;
- no country: the blueprint's customer country, its subdivision replaced when one
  is given, its closed days kept and the ones given added.

A blueprint that names no settlement calendar takes the customer's country for it
(the blueprint format says so); that follows the project's customer country too.
Nothing given: the blueprint's calendars exactly, and the project stores nothing.

The time zone is the zone the customer's days are counted in (the reports' held
days, a project-created start) and the zone of customer-side people bound without
one of their own.

Not here: business-day arithmetic (``core/calendars``), which calendar a task uses
(planning), storing it (adapters/store).
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import holidays as holidays_lib

from onboarding.core.addresses import known_zone
from onboarding.core.blueprint import Blueprint, Calendars, CalendarSpec, ClosedDay, Side
from onboarding.core.messages import Person
from onboarding.errors import Problem

CLOSED_DAY_REASON = "customer closed day"
DEFAULT_ZONE = "UTC"  # the zone of a person bound without one


@dataclass(frozen=True, slots=True)
class CustomerCalendar:
    """What a launch said of the customer's calendar and time zone (each part optional, checked)."""

    country: str | None = None
    subdivision: str | None = None
    closed_days: tuple[date, ...] = ()
    time_zone: str | None = None

    @property
    def changes_calendar(self) -> bool:
        """Whether the customer's business days differ from the blueprint's (a time zone alone does not)."""
        return self.country is not None or self.subdivision is not None or bool(self.closed_days)

    def describe(self) -> str:
        """One line for people: ``GB-ENG + 2027-01-04; Europe/London``."""
        place = self.country or "blueprint's country"
        if self.subdivision:
            place += f"-{self.subdivision}"
        if self.closed_days:
            place += " + " + ", ".join(d.isoformat() for d in self.closed_days)
        return place + (f"; {self.time_zone}" if self.time_zone else "")

    def document(self) -> dict[str, object]:
        """As JSON wants it (status output, events)."""
        return {
            "country": self.country,
            "subdivision": self.subdivision,
            "closed_days": [d.isoformat() for d in self.closed_days],
            "time_zone": self.time_zone,
        }


def customer_calendar(
    *,
    blueprint: Blueprint,
    country: str | None = None,
    subdivision: str | None = None,
    closed_days: Sequence[date | str] = (),
    time_zone: str | None = None,
) -> tuple[CustomerCalendar | None, list[Problem]]:
    """The project's customer calendar from launch inputs, or the problems with them (every one, located).

    None (and no problem) when nothing was given: the blueprint's calendar as it is.
    Country and subdivision codes are read in upper case; closed days are dates or
    ISO texts, kept sorted and once each.
    """
    problems: list[Problem] = []
    country_code = country.strip().upper() if country is not None and country.strip() else None
    subdivision_code = subdivision.strip().upper() if subdivision is not None and subdivision.strip() else None
    zone = time_zone.strip() if time_zone is not None and time_zone.strip() else None
    supported = holidays_lib.list_supported_countries()
    if country_code is not None and (len(country_code) != 2 or country_code not in supported):
        problems.append(
            Problem(
                "unknown-customer-country",
                f"the holiday calendars know no country {country!r}",
                ("customer_country",),
                _country_hint(country or ""),
            )
        )
    place = country_code or blueprint.calendars.customer.country
    if subdivision_code is not None and not problems:
        known = tuple(supported.get(place, ()))
        by_upper = {code.upper(): code for code in known}  # codes are upper case but for a few (DE's Augsburg)
        if subdivision_code in by_upper:
            subdivision_code = by_upper[subdivision_code]
        else:
            problems.append(
                Problem(
                    "unknown-customer-subdivision",
                    f"{place} has no subdivision {subdivision!r} in the holiday calendars",
                    ("customer_subdivision",),
                    _subdivision_hint(place, subdivision or "", known),
                )
            )
    days: set[date] = set()
    for index, value in enumerate(closed_days):
        if isinstance(value, date):
            days.add(value)
            continue
        try:
            days.add(date.fromisoformat(value.strip()))
        except ValueError:
            problems.append(
                Problem(
                    "invalid-customer-closed-day",
                    f"closed day {value!r} is not a date",
                    ("customer_closed_days", index),
                    "write each closed day as YYYY-MM-DD, e.g. 2027-01-04",
                )
            )
    if zone is not None and not known_zone(zone):
        problems.append(
            Problem(
                "invalid-time-zone",
                f"unknown time zone {time_zone!r}",
                ("customer_time_zone",),
                "use an IANA name such as Europe/London or America/Toronto",
            )
        )
    if problems:
        return None, problems
    if country_code is None and subdivision_code is None and not days and zone is None:
        return None, []
    return CustomerCalendar(country_code, subdivision_code, tuple(sorted(days)), zone), []


def _country_hint(text: str) -> str:
    """Did-you-mean over codes and English names (``Canada`` -> CA, ``UK`` -> GB)."""
    names = {entry[0].lower(): entry[1] for entry in holidays_lib.registry.COUNTRIES.values()}
    names.update({"uk": "GB", "united kingdom": "GB", "great britain": "GB", "england": "GB", "usa": "US"})
    wanted = text.strip().lower().replace(" ", "")
    squeezed = {name.replace(" ", ""): code for name, code in names.items()}
    if wanted in squeezed:
        return f"did you mean {squeezed[wanted]!r}?"
    close = difflib.get_close_matches(wanted, list(squeezed), n=1, cutoff=0.75)
    if close:
        return f"did you mean {squeezed[close[0]]!r}?"
    return "give an ISO 3166-1 alpha-2 code the holiday calendars know, such as US, CA, GB or DE"


def _subdivision_hint(country: str, text: str, known: Sequence[str]) -> str:
    """Did-you-mean over the country's subdivision codes and their names (``Quebec`` -> QC)."""
    if not known:
        return f"{country}'s holidays have no subdivisions: give none"
    aliases: Mapping[str, str] = {}
    with contextlib.suppress(NotImplementedError, AttributeError):
        aliases = holidays_lib.country_holidays(country).subdivisions_aliases
    by_name = {name.lower(): code for name, code in aliases.items()}
    wanted = text.strip().lower()
    if wanted in by_name:
        return f"did you mean {by_name[wanted]!r}?"
    close = difflib.get_close_matches(text.strip().upper(), list(known), n=1, cutoff=0.6)
    close = close or [by_name[c] for c in difflib.get_close_matches(wanted, list(by_name), n=1, cutoff=0.75)]
    if close:
        return f"did you mean {close[0]!r}?"
    return f"{country}'s subdivisions: {', '.join(known)}"


def with_customer(calendars: Calendars, customer: CustomerCalendar | None) -> Calendars:
    """The blueprint's calendars with the project's customer calendar in place of its customer one."""
    if customer is None or not customer.changes_calendar:
        return calendars
    given = tuple(ClosedDay(day=d, reason=CLOSED_DAY_REASON) for d in customer.closed_days)
    blueprint_side = calendars.customer
    if customer.country is not None:
        spec = CalendarSpec(country=customer.country, subdivision=customer.subdivision, closed_days=given)
    else:
        kept = tuple(c for c in blueprint_side.closed_days if c.day not in customer.closed_days)
        spec = CalendarSpec(
            country=blueprint_side.country,
            subdivision=customer.subdivision or blueprint_side.subdivision,
            closed_days=kept + given,
        )
    return calendars.model_copy(update={"customer": spec})


def with_customer_zone(
    bindings: Mapping[str, Person], blueprint: Blueprint, customer: CustomerCalendar | None
) -> dict[str, Person]:
    """The people bound, customer-side ones bound without a zone of their own (``UTC``) in the customer's zone."""
    zone = customer.time_zone if customer is not None else None
    if zone is None:
        return dict(bindings)
    return {
        role: person._replace(timezone=zone)
        if person.timezone == DEFAULT_ZONE and role in blueprint.roles and blueprint.roles[role].side is Side.customer
        else person
        for role, person in bindings.items()
    }
