"""The blueprint format: typed, frozen models of a YAML onboarding template.

These models are the format's single source of truth: the JSON Schema in
``blueprints/blueprint.schema.json`` is generated from them and the field-by-field
documentation in ``blueprints/README.md`` follows them. They check shape, types and
ranges; cross-references (roles, tasks, milestones, cycles, flags) are checked in
``core/checks.py``, which turns everything into located, coded problems.

Not here: reading files (adapters), dates of a plan (planning), pay dates (payroll).
"""

from __future__ import annotations

from datetime import date, time
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from onboarding.core.calendars import DEFAULT_MARKET_BY_COUNTRY, CalendarKey

KEY_PATTERN = r"^[a-z][a-z0-9_]*$"
Key = Annotated[str, Field(pattern=KEY_PATTERN, min_length=1, max_length=64)]
MonthDay = Annotated[str, Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
ClockTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]

DEFAULT_CONTACT_ROLE = "csm"  # who answers replies when a blueprint names no contact role

SEMVER_PATTERN = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class Side(StrEnum):
    vendor = "vendor"
    customer = "customer"


class CalendarName(StrEnum):
    vendor = "vendor"
    customer = "customer"
    settlement = "settlement"


class TaskKind(StrEnum):
    human = "human"
    automated = "automated"
    checkpoint = "checkpoint"


class DependencyType(StrEnum):
    FS = "FS"
    SS = "SS"
    FF = "FF"
    SF = "SF"


class Weekday(StrEnum):
    mon = "mon"
    tue = "tue"
    wed = "wed"
    thu = "thu"
    fri = "fri"
    sat = "sat"
    sun = "sun"

    @property
    def number(self) -> int:
        """Monday 0 to Sunday 6, as ``date.weekday()``."""
        return _WEEKDAY_NUMBERS[self]


_WEEKDAY_NUMBERS = {day: number for number, day in enumerate(Weekday)}


class Role(Model):
    """A named owner slot, bound to a real person per project."""

    title: str = Field(min_length=1, max_length=200, description="Human-readable name of the role.")
    side: Side = Field(description="Whether the role is filled by the vendor or the customer.")
    escalation: Key | None = Field(
        default=None, description="Role escalated to when this role's tasks are overdue (the escalation contact)."
    )


class ClosedDay(Model):
    day: date
    reason: str = Field(default="closed day", min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"day": data} if isinstance(data, date | str) else data


class CalendarSpec(Model):
    """Where business days come from: a country's public holidays or a financial market's."""

    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code, e.g. US, GB, DE.")
    subdivision: str | None = Field(default=None, min_length=1, description="State or region code, e.g. CA, NY.")
    market: str | None = Field(
        default=None,
        min_length=2,
        description="Financial calendar code from the holidays package (XFED, XECB, XLON...). "
        "For the settlement calendar of a US blueprint it defaults to XFED (the Federal Reserve).",
    )
    closed_days: tuple[ClosedDay, ...] = Field(
        default=(), description="Extra non-business days: dates, or {day, reason}."
    )


class Calendars(Model):
    vendor: CalendarSpec = Field(description="Calendar for tasks owned by vendor-side roles.")
    customer: CalendarSpec = Field(description="Calendar for tasks owned by customer-side roles.")
    settlement: CalendarSpec | None = Field(
        default=None,
        description="Bank calendar for pay dates and banking lead times; defaults to the customer's country "
        "(for the US: the Federal Reserve's holidays).",
    )


class Dependency(Model):
    """An edge to a task or to every task of a milestone, with a type and a lag."""

    task: Key | None = None
    milestone: Key | None = None
    type: DependencyType = DependencyType.FS
    lag_business_days: int = Field(default=0, ge=-250, le=250, description="Negative = lead.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"task": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_target(self) -> Dependency:
        if (self.task is None) == (self.milestone is None):
            raise ValueError("give exactly one of 'task' or 'milestone'")
        return self


class EmailAction(Model):
    """Send an email to the people bound to some roles when the task is ready."""

    type: Literal["email"]
    to: tuple[Key, ...] = Field(min_length=1, description="Roles to email.")
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(
        min_length=1, description="Plain text; {customer}, {task}, {recipient_name} and {project_id} are filled in."
    )


class WebhookAction(Model):
    """POST a JSON payload to a URL when the task is ready (with an Idempotency-Key header)."""

    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://", description="http(s) URL to POST to.")
    payload: dict[str, Any] = Field(default_factory=dict, description="Extra JSON fields sent with the event.")
    timeout_seconds: float = Field(default=10, gt=0, le=120)


Action = Annotated[EmailAction | WebhookAction, Field(discriminator="type")]


class Task(Model):
    key: Key
    title: str = Field(min_length=1, max_length=300)  # as long as the tasks' title column
    owner: Key = Field(description="Role that owns the task.")
    kind: TaskKind = TaskKind.human
    duration_business_days: int | None = Field(
        default=None,
        ge=0,
        le=1000,
        description="Working days on the task's calendar: default 1, and 0 for a checkpoint.",
    )
    depends_on: tuple[Dependency, ...] = Field(
        default=(), description="Task keys (finish-to-start, no lag) or dependency objects."
    )
    customer_visible: bool = Field(default=True, description="False keeps the task out of customer emails.")
    first_value: bool = Field(default=False, description="Completing this task is the project's first value.")
    launch: bool = Field(default=False, description="This task is the go-live the launch window places.")
    calendar: CalendarName | None = Field(
        default=None,
        description="Override the calendar (default: the owner's side; the settlement calendar "
        "for a payroll-system go-live).",
    )
    description: str | None = None
    action: Action | None = Field(default=None, description="What the engine does for an automated task.")


class Milestone(Model):
    key: Key
    title: str = Field(min_length=1, max_length=200)
    customer_visible: bool = True
    tasks: tuple[Task, ...] = Field(min_length=1)


class Blackout(Model):
    """A period when go-live may not happen: fixed dates, every year, or around each quarter end."""

    reason: str = Field(min_length=1)
    from_on: date | None = Field(default=None, alias="from")
    to_on: date | None = Field(default=None, alias="to")
    every_year_from: MonthDay | None = Field(default=None, description="MM-DD; the period may cross New Year.")
    every_year_to: MonthDay | None = None
    quarter_end_banking_days_before: int | None = Field(default=None, ge=0, le=30)
    quarter_end_banking_days_after: int | None = Field(default=None, ge=0, le=30)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_form(self) -> Blackout:
        fixed = self.from_on is not None or self.to_on is not None
        yearly = self.every_year_from is not None or self.every_year_to is not None
        quarterly = self.quarter_end_banking_days_before is not None or self.quarter_end_banking_days_after is not None
        if sum((fixed, yearly, quarterly)) != 1:
            raise ValueError("give one form: from/to, every_year_from/every_year_to, or quarter_end_banking_days_*")
        if fixed and (self.from_on is None or self.to_on is None or self.from_on > self.to_on):
            raise ValueError("a fixed blackout needs 'from' and 'to' with from <= to")
        if yearly and (self.every_year_from is None or self.every_year_to is None):
            raise ValueError("a yearly blackout needs both every_year_from and every_year_to")
        return self


class Prerequisite(Model):
    """A task placed backwards from the go-live check date."""

    task: Key
    banking_days_before: int | None = Field(
        default=None, ge=0, le=120, description="Due at least this many settlement business days before go-live."
    )
    pay_cycles_before: int | None = Field(
        default=None,
        ge=1,
        le=6,
        description="A parallel run: due on the payroll submission day of the pay date "
        "this many cycles before go-live.",
    )

    @model_validator(mode="after")
    def _one_rule(self) -> Prerequisite:
        if (self.banking_days_before is None) == (self.pay_cycles_before is None):
            raise ValueError("give exactly one of banking_days_before or pay_cycles_before")
        return self


class CheckDateRule(StrEnum):
    year_start = "year_start"
    quarter_start = "quarter_start"
    any_check_date = "any_check_date"


class WindowCommon(Model):
    blackouts: tuple[Blackout, ...] = ()
    weekdays: tuple[Weekday, ...] = Field(
        default=(Weekday.mon, Weekday.tue, Weekday.wed, Weekday.thu, Weekday.fri),
        min_length=1,
        description="Weekdays go-live may fall on.",
    )
    horizon_calendar_days: int = Field(
        default=400, ge=1, le=3660, description="How far past the earliest finish the solver looks."
    )


class PayrollSystemWindow(WindowCommon):
    """Go-live is the first live check date of a new payroll system."""

    kind: Literal["payroll_system"]
    accept: CheckDateRule = Field(
        default=CheckDateRule.quarter_start,
        description="Weakest acceptable check date: the first of a year, of a quarter, or any "
        "(which needs a year-to-date balance conversion).",
    )
    submission_lead_banking_days: int = Field(default=2, ge=0, le=10)
    prerequisites: tuple[Prerequisite, ...] = ()


class BesidePayrollWindow(WindowCommon):
    """Go-live of a product beside payroll: not on a payday nor while payroll is processed."""

    kind: Literal["beside_payroll"]
    processing_banking_days: int = Field(
        default=2, ge=0, le=10, description="Banking days before each pay date, from the input cut-off, to avoid."
    )
    avoid_business_days_after: int = Field(
        default=0, ge=0, le=10, description="Business days after a pay date to avoid."
    )


LaunchWindow = Annotated[PayrollSystemWindow | BesidePayrollWindow, Field(discriminator="kind")]


class StartEvent(StrEnum):
    kickoff = "kickoff"
    contract_signed = "contract_signed"
    project_created = "project_created"


class TTFV(Model):
    """How time-to-first-value is measured: from a start event to the first_value task's completion."""

    start_event: StartEvent = StartEvent.kickoff
    target_calendar_days: int | None = Field(default=None, ge=1, le=3650)


class EscalationStep(StrEnum):
    owner = "owner"
    escalation = "escalation"


class QuietHours(Model):
    start: ClockTime = "18:00"
    end: ClockTime = "08:00"


class NudgePolicy(Model):
    first_after_business_days: int = Field(default=1, ge=0, le=60)
    repeat_every_business_days: int = Field(default=2, ge=1, le=60)
    escalate_after_nudges: int = Field(default=2, ge=1, le=20, description="Nudges at one level before the next.")
    ladder: tuple[Key, ...] = Field(
        default=("owner", "escalation"),
        min_length=1,
        description="Who is nudged, in order: 'owner', 'escalation' (the owner role's escalation contact) or a role.",
    )
    daily_cap_per_recipient: int = Field(default=1, ge=1, le=20)
    quiet_hours: QuietHours = QuietHours()
    send_at: ClockTime = Field(default="09:00", description="Local time of day nudges go out.")


class WeeklyDigest(Model):
    weekday: Weekday | Literal["spread"] = Field(
        default=Weekday.mon,
        description="The day of the week it goes out, or 'spread': each project on a weekday of its own, Monday "
        "to Friday, the same every week (a portfolio's digests spread over the week, not all on one day).",
    )
    at: ClockTime = "09:00"
    only_with_news: bool = Field(
        default=True,
        description="Send a week's update only when there is news for its reader since their last one: a "
        "customer-visible task completed, something asked of them (under way or starting within a week), or the "
        "projected go-live moved (when the emails show it). False: every week.",
    )


class StatusEmailPolicy(Model):
    recipients: tuple[Key, ...] = Field(default=(), description="Customer-side roles that receive status emails.")
    on_milestone_complete: bool = True
    weekly_digest: WeeklyDigest | None = WeeklyDigest()
    include_projected_go_live: bool = True


class Blueprint(Model):
    """A versioned onboarding template."""

    key: Key
    version: str = Field(pattern=SEMVER_PATTERN, max_length=32, description="Semantic version, e.g. 1.2.0.")
    title: str = Field(min_length=1, max_length=200)
    description: str | None = None
    roles: dict[Key, Role] = Field(min_length=1)
    calendars: Calendars
    pay_schedule: str | None = Field(
        default=None, description="Default pay schedule spec, e.g. biweekly:2026-01-02 (the project may override)."
    )
    milestones: tuple[Milestone, ...] = Field(min_length=1)
    launch_window: LaunchWindow | None = None
    ttfv: TTFV | None = None
    nudges: NudgePolicy = NudgePolicy()
    status_emails: StatusEmailPolicy = StatusEmailPolicy()
    contact: Key | None = Field(
        default=None,
        description="The vendor role people reach by replying to the engine's emails (their Reply-To, named in "
        "the text); default: csm when the blueprint has that role, else the engine's sender.",
    )

    @property
    def contact_role(self) -> str | None:
        """The role whose person answers replies: ``contact``, else ``csm`` when declared, else none."""
        if self.contact is not None:
            return self.contact
        return DEFAULT_CONTACT_ROLE if DEFAULT_CONTACT_ROLE in self.roles else None


def clock_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def calendar_keys(calendars: Calendars) -> dict[CalendarName, CalendarKey]:
    """Which holiday tables each named calendar uses (the settlement one defaults by country)."""

    def key(spec: CalendarSpec, *, settlement: bool) -> CalendarKey:
        market = spec.market
        if settlement and market is None:
            market = DEFAULT_MARKET_BY_COUNTRY.get(spec.country)
        closed = tuple(sorted((c.day, c.reason) for c in spec.closed_days))
        return CalendarKey(spec.country, spec.subdivision if market is None else None, market, closed)

    settlement = calendars.settlement or CalendarSpec(country=calendars.customer.country)
    return {
        CalendarName.vendor: key(calendars.vendor, settlement=False),
        CalendarName.customer: key(calendars.customer, settlement=False),
        CalendarName.settlement: key(settlement, settlement=True),
    }


SCHEMA_ID = "https://onboarding-engine.dev/schemas/blueprint.schema.json"


def blueprint_json_schema() -> dict[str, Any]:
    """The JSON Schema of the blueprint format, shorthand forms included, for editors."""
    schema = Blueprint.model_json_schema(by_alias=True)
    defs = schema["$defs"]
    task_key = {"type": "string", "pattern": KEY_PATTERN, "description": "A task key (finish-to-start, no lag)."}
    date_string = {"type": "string", "format": "date", "description": "A date (YYYY-MM-DD)."}
    defs["Task"]["properties"]["depends_on"]["items"] = {"anyOf": [task_key, {"$ref": "#/$defs/Dependency"}]}
    defs["CalendarSpec"]["properties"]["closed_days"]["items"] = {"anyOf": [date_string, {"$ref": "#/$defs/ClosedDay"}]}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
