"""Hook mappings: how a CRM's payload becomes a launch (blueprint, customer, kickoff, people for roles).

A hook source carries a declarative mapping, written in YAML and checked here
(``check_mapping``: every problem at once, located). Each launch field is a
*value*: a constant (a plain scalar), a payload path (``{path: properties.dealname}``)
or a request header (``{header: X-Request-Id}``), with an optional ``default`` for
a value the payload leaves out and a ``prefix`` (``hubspot-deal-``) put before it.
Paths are dotted names with array indexes: ``properties.dealname``,
``[0].objectId``, ``deals[2].id``; a leading ``$.`` is allowed, as in JSONPath.

``map_payload(mapping, payload, headers=..., today=...)`` is pure: it returns a
``MappedLaunch`` or raises ``PayloadUnmapped`` with every problem, each located by
its path in the payload (``payload.properties.owner_email``) or its header.

Dates (kickoff, contract signed) are read from ``YYYY-MM-DD``, an ISO date-time
(its UTC day when it has an offset), or a whole number of unix milliseconds (how
HubSpot sends date properties); the constant ``today`` is the day the delivery
arrived (UTC), to which ``kickoff_plus_days`` calendar days are added (the plan
starts on the first business day on or after it).

Not here: YAML files and their line numbers (adapters), signatures
(``core.hook_signatures``), whether the blueprint knows the roles (the launch checks it).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from onboarding.core.addresses import person_problems
from onboarding.core.messages import Person
from onboarding.errors import HookMappingInvalid, Loc, PayloadUnmapped, PayloadUnreadable, Problem

Path = tuple[str | int, ...]
_LONGEST = {"customer": 200, "external_id": 128, "delivery_id": 200, "segment": 64, "pay_schedule": 64}  # columns
TODAY = "today"
_ROLE = r"^[a-z][a-z0-9_]*$"


class Value(BaseModel):
    """Where one launch field comes from: a constant, a payload path or a header (exactly one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    constant: str | None = None
    path: str | None = None
    header: str | None = None
    default: str | None = None  # when the payload or the request leaves it out
    prefix: str = ""  # put before what the payload gives (an id space: hubspot-deal-)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        """A plain scalar is a constant (``time_zone: America/Chicago``; YAML dates and numbers as text)."""
        if isinstance(data, date):
            return {"constant": data.isoformat()}
        if isinstance(data, str | int | float) and not isinstance(data, bool):
            return {"constant": str(data)}
        if isinstance(data, dict):
            return {k: _text(v) for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> Value:
        given = [name for name in ("constant", "path", "header") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of path, header or a constant value (given: {', '.join(given) or 'none'})"
            )
        return self


class Binding(BaseModel):
    """The person bound to a role: an email, and optionally a name and an IANA time zone (default UTC)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Value
    name: Value | None = None
    time_zone: Value | None = None


class HookMapping(BaseModel):
    """A hook source's mapping from payload to launch."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    blueprint: Value
    customer: Value
    kickoff: Value
    kickoff_plus_days: int = Field(0, ge=0, le=366)
    external_id: Value
    delivery_id: Value | None = None  # what a retried delivery repeats; default: the external id
    pay_schedule: Value | None = None
    segment: Value | None = None
    contract_signed: Value | None = None
    bindings: dict[str, Binding] = Field(min_length=1)


@dataclass(frozen=True)
class MappedLaunch:
    """What a delivery asks to launch, read through its source's mapping."""

    blueprint: str
    customer: str
    kickoff_on: date
    external_id: str
    bindings: Mapping[str, Person]
    delivery_id: str | None = None
    pay_schedule: str | None = None
    segment: str | None = None
    contract_signed_on: date | None = None


# -- checking a mapping ------------------------------------------------------------------


def check_mapping(data: Any) -> HookMapping:
    """A valid mapping from plain values (read from YAML), or ``HookMappingInvalid`` with every problem."""
    try:
        mapping = HookMapping.model_validate(data)
    except ValidationError as exc:
        raise HookMappingInvalid("mapping", tuple(_shape_problems(exc))) from None
    problems = list(_meaning_problems(mapping))
    if problems:
        raise HookMappingInvalid("mapping", tuple(problems))
    return mapping


def _meaning_problems(mapping: HookMapping) -> Iterator[Problem]:
    for loc, value in _values(mapping):
        if value.path is not None and parse_path(value.path) is None:
            yield Problem(
                "invalid-path",
                f"cannot read the payload path {value.path!r}",
                (*loc, "path"),
                "write dotted names with array indexes, e.g. properties.dealname or [0].objectId",
            )
        if value.header is not None and not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", value.header):
            yield Problem(
                "invalid-value", f"{value.header!r} is not a header name", (*loc, "header"), "e.g. X-Request-Id"
            )
    dates: list[tuple[Loc, Value | None]] = [
        (("kickoff",), mapping.kickoff),
        (("contract_signed",), mapping.contract_signed),
    ]
    for loc, day in dates:
        if day is None:
            continue
        for given, at in ((day.constant, (*loc, "constant")), (day.default, (*loc, "default"))):
            if given is not None and (given != TODAY or loc != ("kickoff",)) and read_date(given) is None:
                yield Problem(
                    "invalid-value",
                    f"{given!r} is not a date",
                    at,
                    "write YYYY-MM-DD" + (", or today" if loc == ("kickoff",) else ""),
                )
    for role in mapping.bindings:
        if not re.fullmatch(_ROLE, role):
            yield Problem(
                "invalid-value",
                f"{role!r} is not a role key",
                ("bindings", role),
                "role keys start with a lowercase letter and use a-z, 0-9 and _",
            )


def _values(mapping: HookMapping) -> Iterator[tuple[Loc, Value]]:
    for name in ("blueprint", "customer", "kickoff", "external_id", "delivery_id", "pay_schedule", "segment"):
        value = getattr(mapping, name)
        if value is not None:
            yield (name,), value
    if mapping.contract_signed is not None:
        yield ("contract_signed",), mapping.contract_signed
    for role, binding in mapping.bindings.items():
        for part in ("email", "name", "time_zone"):
            value = getattr(binding, part)
            if value is not None:
                yield ("bindings", role, part), value


_HINTS = {
    "int": "write a whole number",
    "string": "write text (quote it if YAML reads it as a number, a date or yes/no)",
    "dict": "write a mapping (name: value lines)",
    "model": "write a constant, or a mapping such as {path: properties.dealname}",
}


def _shape_problems(exc: ValidationError) -> Iterator[Problem]:
    for error in exc.errors(include_url=False):
        loc: Loc = tuple(error["loc"])
        kind = error["type"]
        message = error["msg"].removeprefix("Value error, ")
        if kind == "extra_forbidden":
            allowed = sorted(_fields_at(loc[:-1]))
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed here: {', '.join(allowed)}"
            yield Problem("unknown-field", f"unknown field {loc[-1]!r}", loc, hint)
        elif kind == "missing":
            yield Problem("missing-field", f"required field {loc[-1]!r} is missing", loc, "add it")
        elif kind.startswith(("greater_than", "less_than", "too_short", "too_long")):
            yield Problem("out-of-range", f"{message}; got {error.get('input')!r}", loc, "change the value to fit")
        elif kind == "value_error":
            yield Problem("invalid-value", message, loc, "e.g. customer: {path: properties.dealname}")
        else:
            hint = _HINTS.get(kind.split("_")[0], "check the value's type")
            yield Problem("wrong-type", f"{message}; got {error.get('input')!r}", loc, hint)


def _fields_at(loc: Loc) -> set[str]:
    """Field names allowed at a path of the mapping."""
    if not loc:
        return set(HookMapping.model_fields)
    if loc[0] == "bindings":
        return set(Binding.model_fields) if len(loc) == 2 else set(Value.model_fields)
    return set(Value.model_fields)


def _text(value: Any) -> Any:
    """A YAML scalar inside a value's mapping as text (a date, a number)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


# -- paths -------------------------------------------------------------------------------

_NAME = re.compile(r"[^.\[\]\s]+")
_INDEX = re.compile(r"\[(\d+)\]")


def parse_path(text: str) -> Path | None:
    """``properties.dealname`` -> ``('properties', 'dealname')``; ``[0].objectId`` -> ``(0, 'objectId')``.

    None when the text is not a path.
    """
    rest = text.strip()
    if rest.startswith("$"):
        rest = rest[1:]
        if rest.startswith("."):
            rest = rest[1:]
    parts: list[str | int] = []
    first = True
    while rest:
        index = _INDEX.match(rest)
        if index is not None:
            parts.append(int(index.group(1)))
            rest = rest[index.end() :]
        else:
            if not first:
                if not rest.startswith("."):
                    return None
                rest = rest[1:]
            name = _NAME.match(rest)
            if name is None:
                return None
            parts.append(name.group(0))
            rest = rest[name.end() :]
        first = False
    return tuple(parts) or None


def resolve(payload: Any, path: Path) -> Any:
    """The value at a path, or None when the payload has nothing there."""
    current = payload
    for part in path:
        if isinstance(part, int):
            if not isinstance(current, list) or part >= len(current):
                return None
            current = current[part]
        else:
            if not isinstance(current, dict) or part not in current:
                return None
            current = current[part]
    return current


# -- reading a delivery ------------------------------------------------------------------


def parse_json_payload(body: bytes) -> Any:
    """The JSON document of a delivery's body, or ``PayloadUnreadable`` (``payload-not-json``)."""
    try:
        return json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        said = f"byte {exc.start} is not UTF-8"
    except json.JSONDecodeError as exc:
        said = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    except RecursionError:
        said = "it nests too deeply"
    raise PayloadUnreadable(
        "payload",
        (Problem("payload-not-json", f"the body is not JSON: {said}", ("body",), "send the payload as UTF-8 JSON"),),
    )


def read_date(text: str) -> date | None:
    """A day from ``YYYY-MM-DD``, an ISO date-time (its UTC day when it has an offset) or unix milliseconds."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        try:
            return datetime.fromtimestamp(int(text) / 1000, UTC).date()
        except (OverflowError, OSError, ValueError):
            return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC).date() if moment.tzinfo is not None else moment.date()


class _Reader:
    """Reads values of one delivery, collecting every problem."""

    def __init__(self, payload: Any, headers: Mapping[str, str]) -> None:
        self.payload = payload
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.problems: list[Problem] = []

    def where(self, value: Value, field_loc: Loc) -> Loc:
        if value.path is not None:
            return ("payload", *(parse_path(value.path) or ()))
        if value.header is not None:
            return ("headers", value.header)
        return ("mapping", *field_loc)

    def text(self, value: Value | None, field_loc: Loc, *, required: bool = True) -> str | None:
        if value is None:
            return None
        if value.constant is not None:
            return value.constant
        name = ".".join(str(p) for p in field_loc)
        if value.path is not None:
            found = resolve(self.payload, parse_path(value.path) or ())
            source = f"the payload path {value.path}"
        else:
            assert value.header is not None  # noqa: S101 - a checked mapping gives exactly one
            found = self.headers.get(value.header.lower())
            source = f"the header {value.header}"
        if isinstance(found, dict | list | bool):
            self.problems.append(
                Problem(
                    "payload-wrong-type",
                    f"{name}: {source} holds {_kind(found)}, not text, a number or a date",
                    self.where(value, field_loc),
                    "point the mapping at the field inside it, e.g. properties.dealname.value",
                )
            )
            return None
        if isinstance(found, float) and found.is_integer():
            found = int(found)
        text = "" if found is None else str(found).strip()
        if not text:
            if value.default is not None:
                return value.default
            if required:
                self.problems.append(
                    Problem(
                        "payload-missing-value",
                        f"{name}: the delivery has no value at {source}",
                        self.where(value, field_loc),
                        "send that field with the delivery, or give the mapping a default for it",
                    )
                )
            return None
        return value.prefix + text

    def day(self, value: Value | None, field_loc: Loc, *, today: date, required: bool = True) -> date | None:
        text = self.text(value, field_loc, required=required)
        if text is None or value is None:
            return None
        if text == TODAY and TODAY in (value.constant, value.default):
            return today
        found = read_date(text)
        if found is None:
            self.problems.append(
                Problem(
                    "payload-invalid-date",
                    f"{'.'.join(map(str, field_loc))}: {text[:40]!r} is not a date",
                    self.where(value, field_loc),
                    "send YYYY-MM-DD, an ISO date-time or unix milliseconds",
                )
            )
        return found


def _kind(value: Any) -> str:
    return "an object" if isinstance(value, dict) else "a list" if isinstance(value, list) else "true or false"


def map_payload(mapping: HookMapping, payload: Any, *, headers: Mapping[str, str], today: date) -> MappedLaunch:
    """The launch a delivery asks for, or ``PayloadUnmapped`` with every problem located in the payload."""
    read = _Reader(payload, headers)
    blueprint = read.text(mapping.blueprint, ("blueprint",))
    customer = read.text(mapping.customer, ("customer",))
    kickoff = read.day(mapping.kickoff, ("kickoff",), today=today)
    external_id = read.text(mapping.external_id, ("external_id",))
    delivery_id = read.text(mapping.delivery_id, ("delivery_id",), required=False)
    pay_schedule = read.text(mapping.pay_schedule, ("pay_schedule",), required=False)
    segment = read.text(mapping.segment, ("segment",), required=False)
    signed = read.day(mapping.contract_signed, ("contract_signed",), today=today, required=False)
    bindings: dict[str, Person] = {}
    for role, binding in mapping.bindings.items():
        loc: Loc = ("bindings", role)
        email = read.text(binding.email, (*loc, "email"))
        name = read.text(binding.name, (*loc, "name"), required=False)
        zone = read.text(binding.time_zone, (*loc, "time_zone"), required=False) or "UTC"
        if email is None:
            continue
        person = Person(name or email, email, zone)
        for problem in person_problems({role: person}):
            part = {"invalid-address": "email", "invalid-name": "name", "invalid-time-zone": "time_zone"}[problem.code]
            spec = getattr(binding, part) or binding.email
            read.problems.append(
                Problem(
                    problem.code,
                    f"bindings.{role}.{part}: {problem.message}",
                    read.where(spec, (*loc, part)),
                    problem.hint,
                )
            )
        bindings[role] = person
    for name, spec, text in (
        ("customer", mapping.customer, customer),
        ("external_id", mapping.external_id, external_id),
        ("delivery_id", mapping.delivery_id, delivery_id),
        ("segment", mapping.segment, segment),
        ("pay_schedule", mapping.pay_schedule, pay_schedule),
    ):
        if spec is not None and text is not None and len(text) > _LONGEST[name]:
            read.problems.append(
                Problem(
                    "out-of-range",
                    f"{name}: {len(text)} characters; at most {_LONGEST[name]}",
                    read.where(spec, (name,)),
                    "map a shorter value",
                )
            )
    if read.problems:
        raise PayloadUnmapped("payload", tuple(read.problems))
    assert blueprint and customer and kickoff and external_id  # noqa: S101 - each a problem when missing
    return MappedLaunch(
        blueprint=blueprint,
        customer=customer,
        kickoff_on=kickoff + timedelta(days=mapping.kickoff_plus_days),
        external_id=external_id,
        bindings=bindings,
        delivery_id=delivery_id,
        pay_schedule=pay_schedule,
        segment=segment,
        contract_signed_on=signed,
    )
