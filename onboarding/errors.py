"""The one error family of the engine, and the stable codes of the problems it reports.

    OnboardingError                  base of everything the engine raises on purpose
    ├── BlueprintInvalid (ValueError)     a blueprint file has problems (all listed at once)
    ├── PayScheduleInvalid (ValueError)   a pay-schedule spec cannot be read
    ├── PlanInputInvalid (ValueError)     project inputs do not fit the blueprint
    ├── NoSafeLaunch (ValueError)         no launch-window date within the horizon
    ├── TransitionRefused (ValueError)    a task or project change the lifecycle does not allow
    ├── ReportInputInvalid (ValueError)   a report asked for with inputs that cannot be met
    ├── SweepRefused (ValueError)         a sweep's day or time it may not run as of
    ├── SweepInterrupted (RuntimeError)   a sweep that stopped before its end: a batch process of it was lost
    ├── DemoFolderRefused (ValueError)    a --data folder the demo did not make and will not use
    ├── UnsubscribeRefused (ValueError)   an unsubscribe token that cannot be honoured
    ├── CustomerLinkRefused (PermissionError) a customer link that is altered, revoked or expired
    ├── CustomerActionRefused (ValueError) a customer's done, stuck or snooze that cannot be recorded as asked
    ├── AddressInvalid (ValueError)       an email address or name the engine cannot send to
    ├── LaunchConflict (ValueError)       an external id or idempotency key used before with a different request
    ├── QueryInvalid (ValueError)         a list asked for with a cursor or filter that cannot be read
    ├── BlueprintVersionExists (ValueError) a published version asked to hold other content
    ├── ProjectNotFound (LookupError)     no project with that id or external id
    ├── MessageNotFound (LookupError)     no outbox message with that id
    ├── BlueprintNotFound (LookupError)   no published blueprint with that key (or version)
    ├── ApiKeyRefused (ValueError)        an API key that cannot be made or revoked as asked
    ├── NotAuthenticated (PermissionError) a request without a valid API key
    ├── NotPermitted (PermissionError)    a valid key whose scope does not allow the request
    ├── ChangeConflict (RuntimeError)     a change made on a state another change has since replaced
    ├── HookMappingInvalid (ValueError)   a hook source's mapping or settings have problems (all listed at once)
    ├── HookSourceExists (ValueError)     a hook source added again without replacing it
    ├── HookSourceNotFound (LookupError)  no hook source by that name
    ├── SignatureRefused (PermissionError) a hook delivery whose signature or timestamp does not verify
    ├── PayloadUnreadable (ValueError)    a hook delivery whose body is not JSON
    ├── PayloadUnmapped (ValueError)      a hook delivery whose payload does not give a launch (all problems)
    ├── DeliveryInProgress (RuntimeError) the same hook delivery is being launched by another request
    ├── WebhookInvalid (ValueError)       a webhook subscription with a bad URL, event type or secret
    ├── WebhookNotFound (LookupError)     no webhook endpoint with that id
    ├── TeamMemberNotFound (LookupError)  no team member with that address
    ├── SignInRefused (PermissionError)   a team sign-in link (or demo sign-in) that cannot sign anyone in
    └── StoreUnavailable (RuntimeError)   infrastructure: the database or data folder cannot be used

Each problem carries a stable ``code`` (tests assert on codes, never on wording), a
location (a path into the document; the YAML adapter adds file, line and column) and
a hint that says what to change in words every edge can use: no command, option or
field name (the CLI adds its options per code, the HTTP API its own wording). Only
the edges turn these into text and an exit status (the CLI) or a problem document
and an HTTP status (the web app). Infrastructure failures (disk, database, network) are not dressed up
as user errors: the store says them as ``StoreUnavailable`` (which server or file,
what the driver said, what to check), a family of its own. What does not belong
here: formatting for a terminal, I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Loc = tuple[str | int, ...]

# Stable problem codes of blueprints and plans (documented in blueprints/README.md).
BLUEPRINT_CODES: dict[str, str] = {
    # reading the file
    "file-not-found": "the file does not exist or cannot be read",
    "file-too-large": "the file is larger than the loader accepts",
    "not-utf8": "the file is not UTF-8 text",
    "yaml-syntax": "the file is not valid YAML",
    "yaml-duplicate-key": "a mapping repeats a key",
    "yaml-unsafe-tag": "a YAML tag asks for an object the loader will not build",
    "yaml-alias-bomb": "aliases expand the document beyond the loader's limit",
    "yaml-not-mapping": "the document is not a mapping at its top level",
    # shape of the document
    "unknown-field": "a field the format does not have",
    "missing-field": "a required field is absent",
    "wrong-type": "a value of the wrong type",
    "out-of-range": "a number or length outside its allowed range",
    "invalid-value": "a value that is not one of the allowed ones",
    # meaning of the document
    "duplicate-key": "two milestones or tasks share a key",
    "unknown-role": "a reference to a role that is not declared",
    "unknown-dependency": "a dependency on a task or milestone that is not declared",
    "unknown-task": "a reference to a task that is not declared",
    "self-dependency": "a task depends on itself or on its own milestone",
    "dependency-cycle": "dependencies form a cycle",
    "invalid-duration": "a duration that does not fit the task's kind",
    "no-launch-task": "a launch window is given but no task has launch: true",
    "multiple-launch-tasks": "more than one task has launch: true",
    "multiple-first-value-tasks": "more than one task has first_value: true",
    "no-first-value-task": "a TTFV definition is given but no task has first_value: true",
    "unknown-calendar": "a country or subdivision the holiday calendars do not know",
    "invalid-pay-schedule": "a pay-schedule spec that cannot be read",
    "missing-pay-schedule": "a launch window needs a pay schedule and none was given",
    "invalid-prerequisite": "a launch prerequisite that does not fit the launch window",
    "escalation-cycle": "role escalation contacts loop back on themselves",
    "no-safe-launch": "no allowed go-live date within the launch window's horizon",
    "kickoff-out-of-range": "a kickoff date too far from the calendars' years",
}

# Stable problem codes of running projects (documented in README.md).
RUN_CODES: dict[str, str] = {
    "invalid-transition": "a task or project cannot make that change from its current state",
    "predecessors-not-done": "a task's predecessors are not done (a forced change records an exception)",
    "project-on-hold": "the project is on hold",
    "date-in-future": "a task, hold or resume dated after today",
    "date-too-early": "a task dated more than a year before the project's kickoff",
    "date-before-kickoff": "a task, hold or resume dated before the project's kickoff "
    "(a task's forced date records it)",
    "date-before-predecessor": "a start or completion dated before a predecessor was done or started "
    "(a forced date records it)",
    "date-before-start": "a completion or skip dated before the task started (a forced date records it)",
    "date-before-resume": "a hold dated before the day the previous hold ended",
    "date-before-hold": "a resume dated before the day its hold began",
    "project-not-found": "no project with that id or external id",
    "invalid-binding": "a role binding that cannot be read or names an unknown role",
    "invalid-address": "an email address the engine cannot send to (not ASCII user@domain, a control character...)",
    "invalid-name": "a person's or customer's name with a control character (CR, LF...) or longer than 200 characters",
    "invalid-time-zone": "a time zone that is not an IANA name (Europe/Berlin)",
    "missing-binding": "a role of the blueprint has no person bound to it",
    "invalid-unsubscribe-token": "an unsubscribe token this engine did not sign, or one altered or cut short",
    "unsubscribe-every-project": "a valid token for every project of an address; opt-outs are recorded per project",
    "external-id-conflict": "an external id launched before with a different blueprint, customer or inputs",
    "unknown-customer-country": "a customer country the holiday calendars do not know (ISO 3166-1 alpha-2)",
    "unknown-customer-subdivision": "a customer subdivision that is not one of its country's in the holiday calendars",
    "invalid-customer-closed-day": "a customer closed day that is not a date (YYYY-MM-DD)",
    "customer-role-default": "a team default for a role that is filled by the customer, not the vendor",
    "team-default-not-found": "no team default for that role and segment",
    "project-cancelled": "the project is cancelled: nothing changes it any more",
    "project-completed": "the project is completed (live): it cannot be cancelled",
    "reason-required": "a change that needs a reason (cancel, recommit) was given none",
    "text-too-long": "a reason, note or comment longer than the engine keeps",
    "nothing-to-recommit": "the projected go-live is within the committed one: there is no later date to accept",
    "binding-unchanged": "a rebind to the person already bound to the role",
    "empty-note": "a note with no text",
    "unknown-event-kind": "a history filter on an event kind the engine does not record",
    "invalid-history-filter": "a history filter that cannot be met (since after until, a limit below 1, a bad cursor)",
}

# Stable problem codes of the manager reports (documented in README.md).
REPORT_CODES: dict[str, str] = {
    "invalid-period": "a report's period starts after it ends",
    "conflicting-as-of": "a report asked as of two different days",
    "invalid-group": "a drill-down into a report group given another number of values than the report has groupings",
    "report-file-not-ours": "a report file path that holds something other than a report page the engine wrote",
}

# Stable problem codes of the sweep's day and time (documented in README.md, "Running onboardings").
SWEEP_CODES: dict[str, str] = {
    "invalid-sweep-time": "a sweep's time of day that is not HH:MM between 00:00 and 23:59",
    "sweep-day-out-of-range": "a sweep's day outside the years the calendars cover",
    "sweep-in-future": "a sweep as of a later day or time than now, on a database that is not a simulation",
    "sweep-before-last-swept": "a sweep as of a day before the latest day already swept",
    "invalid-shard": "a share of a sweep outside its count: shards from 1, a shard from 0 to shards - 1",
    "sweep-batch-lost": "a batch process of a sweep ended before its batch did (killed, or out of memory)",
}

# Stable problem codes of the demo (documented in README.md).
DEMO_CODES: dict[str, str] = {
    "demo-folder-not-ours": "the demo's data folder holds files the demo did not make",
}

# Stable problem codes of `onboarding outbox` (documented in README.md).
OUTBOX_CODES: dict[str, str] = {
    "message-not-found": "no outbox message with that id",
}

# Stable problem codes of the HTTP API and its keys (documented in README.md, "HTTP API").
API_CODES: dict[str, str] = {
    "invalid-api-key-name": "an API key name that is empty, too long or not letters, digits, '.', '_' or '-'",
    "api-key-exists": "an API key of that name exists (or existed: names are never reused)",
    "api-key-not-found": "no API key of that name",
    "not-authenticated": "no API key, or one that is unknown or revoked",
    "not-permitted": "the key's scope does not allow this request",
    "invalid-request": "a request whose body, path or query cannot be read",
    "not-found": "no such resource",
    "concurrent-change": "another change to the same project was made meanwhile",
    "invalid-cursor": "a list's cursor that this server did not give, or one altered or cut short",
    "idempotency-key-reused": "an Idempotency-Key sent before with a different request",
    "idempotency-key-in-use": "an Idempotency-Key whose first request is still being served",
    "invalid-idempotency-key": "an Idempotency-Key that is empty or longer than 200 characters",
    "internal-error": "the server failed on a request (its log says why)",
}

# Stable problem codes of the blueprint registry (documented in README.md, "The blueprint registry").
REGISTRY_CODES: dict[str, str] = {
    "blueprint-version-exists": "a blueprint version published before with different content",
    "blueprint-not-found": "no published blueprint with that key, or no such version of it",
}

# Stable problem codes of `onboarding webhook` (documented in README.md, "Outbound events").
WEBHOOK_CODES: dict[str, str] = {
    "invalid-webhook-url": "a webhook URL that is not http:// or https:// with a host (or carries credentials)",
    "unknown-webhook-event": "an event type the engine does not send",
    "no-webhook-events": "a webhook subscribed to no event type",
    "invalid-webhook-secret": "a webhook secret that is not whsec_ and the base64 of 24 to 64 bytes",
    "webhook-not-found": "no webhook endpoint with that id",
}

# Stable problem codes of the settings and of the storage underneath (documented in README.md).
SETUP_CODES: dict[str, str] = {
    "invalid-setting": "an ONBOARDING_* environment variable that cannot be read",
    "invalid-database-url": "ONBOARDING_DATABASE_URL is not a database URL this engine can use",
    "data-dir-unusable": "the data folder is a file, or cannot be created, read or written",
    "database-not-found": "no database where the settings point, for work that does not create one",
    "database-unreadable": "the SQLite file is not a database, or is corrupted or cut short",
    "database-unreachable": "the database server cannot be reached or refuses the connection",
    "database-too-new": "the schema is from a newer version of the engine than this one",
    "database-not-ours": "a SQLite file that holds another application's tables: the engine makes its own nowhere",
    "database-out-of-date": "the schema is from an older version of the engine: upgrade it first",
    "database-failed": "the database failed while the request or command ran",
    "file-access-failed": "a file or folder the engine needs cannot be read or written",
}

# Stable problem codes of inbound hooks (documented in README.md, "CRM launches").
HOOK_CODES: dict[str, str] = {
    "invalid-path": "a payload path in a hook mapping that cannot be read (properties.dealname, [0].objectId)",
    "hook-source-exists": "a hook source of that name exists already",
    "hook-source-not-found": "no hook source of that name",
    "signature-missing": "a hook delivery without its signature or timestamp header",
    "signature-invalid": "a hook delivery whose signature does not match its body and the source's secret",
    "timestamp-invalid": "a hook delivery whose timestamp header is not a number",
    "timestamp-stale": "a hook delivery signed more than 5 minutes before or after now (a replay, or a clock adrift)",
    "payload-not-json": "a hook delivery whose body is not UTF-8 JSON",
    "payload-too-large": "a request body (an API call, a form, a hook delivery) larger than the server reads",
    "payload-missing-value": "a payload path or header of the mapping that the delivery does not have",
    "payload-wrong-type": "a payload value that is an object or list where the mapping wants text, a number or a date",
    "payload-invalid-date": "a payload value the mapping reads as a date that is not one",
    "delivery-in-progress": "the same delivery is being launched by another request at this moment",
}

# Stable problem codes of customer links (documented in docs/web/customer-links.md).
CUSTOMER_LINK_CODES: dict[str, str] = {
    "customer-link-invalid": "a customer link this engine did not sign, or one altered or cut short",
    "customer-link-revoked": "a customer link made before its project's links were renewed",
    "customer-link-expired": "a customer link of a project that ended (cancelled, or completed a while ago)",
    "customer-not-on-project": "a customer link of someone no longer bound to a customer role of the project",
    "task-not-yours": "a task the link's person cannot see or act on (internal, or another side's)",
    "task-not-open": "a task already done, skipped or closed: nothing more to do",
    "snooze-date-invalid": "a snooze date that is not a date, or outside the days allowed",
}

# Stable problem codes of team members and their sign-in (documented in README.md, "The team's pages").
TEAM_CODES: dict[str, str] = {
    "invalid-team-role": "a team member's role that is not member, manager or admin",
    "team-member-not-found": "no team member with that address",
    "sign-in-link-unknown": "a sign-in link this server did not make, or one altered or cut short",
    "sign-in-link-used": "a sign-in link used before: each works once",
    "sign-in-link-expired": "a sign-in link older than its 15 minutes",
    "not-a-team-member": "a sign-in for an address that is not (or no longer) on the team",
    "not-a-demo-database": "a demo sign-in asked of a database the demo did not make",
}

CODES: dict[str, str] = {
    **BLUEPRINT_CODES,
    **CUSTOMER_LINK_CODES,
    **RUN_CODES,
    **REPORT_CODES,
    **SWEEP_CODES,
    **DEMO_CODES,
    **TEAM_CODES,
    **OUTBOX_CODES,
    **API_CODES,
    **REGISTRY_CODES,
    **WEBHOOK_CODES,
    **SETUP_CODES,
    **HOOK_CODES,
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, located and coded, with a hint."""

    code: str
    message: str
    loc: Loc = ()
    hint: str = ""
    line: int | None = None
    column: int | None = None
    detail: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.code not in CODES:  # a programming error, not a user one
            raise KeyError(f"unregistered problem code {self.code!r}")

    def sort_key(self) -> tuple[int, int, str, str]:
        return (self.line or 0, self.column or 0, self.code, self.message)


def render_loc(loc: Loc) -> str:
    """``('milestones', 'migration', 'tasks', 0)`` -> ``milestones.migration.tasks[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def render_problem(problem: Problem) -> str:
    where = f"line {problem.line} col {problem.column}  " if problem.line is not None else ""
    path = render_loc(problem.loc)
    text = f"{where}{path + ': ' if path else ''}{problem.message}"
    if problem.hint:
        text += f" ({problem.hint})"
    text += f"  [{problem.code}]"
    for extra in problem.detail:
        text += f"\n      {extra}"
    return text


class OnboardingError(Exception):
    """Base of every error the engine raises on purpose."""


@dataclass(eq=False)
class ProblemsError(OnboardingError):
    """An error made of one or more located problems, all reported at once."""

    source: str
    problems: tuple[Problem, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        self.problems = tuple(sorted(dict.fromkeys(self.problems), key=Problem.sort_key))  # same problem once
        super().__init__(str(self))

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.problems]

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{self.source}: {n} problem{'s' if n != 1 else ''}"
        return "\n".join([head, *("  " + render_problem(p) for p in self.problems)])


class BlueprintInvalid(ProblemsError, ValueError):
    """A blueprint has one or more problems; ``problems`` lists them all, sorted."""


class PayScheduleInvalid(ProblemsError, ValueError):
    """A pay-schedule spec cannot be read."""


class PlanInputInvalid(ProblemsError, ValueError):
    """Project inputs (kickoff, pay schedule, bindings) do not fit the blueprint."""


class NoSafeLaunch(ProblemsError, ValueError):
    """No allowed go-live date exists within the launch window's horizon."""


class TransitionRefused(ProblemsError, ValueError):
    """A task or project change the lifecycle table or the dependencies do not allow."""


class ReportInputInvalid(ProblemsError, ValueError):
    """A report's inputs (its period, say) cannot be met."""


class ReportFileRefused(ProblemsError, ValueError):
    """A report page asked to go where something the engine did not write is: nothing is written there."""


class SweepRefused(ProblemsError, ValueError):
    """A sweep asked to run as of a day or time it may not: unreadable, in the future, or before the last."""


class SweepInterrupted(ProblemsError, RuntimeError):
    """A sweep that stopped before its end: what its batches had not committed is rolled back, for the next sweep."""


class DemoFolderRefused(ProblemsError, ValueError):
    """The demo's data folder exists and is not one the demo made: it is neither used nor deleted."""


class UnsubscribeRefused(ProblemsError, ValueError):
    """An unsubscribe token that is not valid here, or that names no single project."""


class CustomerLinkRefused(ProblemsError, PermissionError):
    """A customer link that is not valid here: altered or forged, revoked by a key rotation, or expired."""


class CustomerActionRefused(ProblemsError, ValueError):
    """A customer's done, stuck or snooze that cannot be recorded as asked (the task, the reason or the date)."""


class AddressInvalid(ProblemsError, ValueError):
    """An email address or display name that breaks the address rule (``core/addresses``)."""


class LaunchConflict(ProblemsError, ValueError):
    """An external id (or an idempotency key) was launched before with another blueprint, customer or inputs."""


class QueryInvalid(ProblemsError, ValueError):
    """A list asked for with a cursor or a filter that cannot be read."""


class BlueprintVersionExists(ProblemsError, ValueError):
    """A blueprint's key and version were published before with different content: a version is never rewritten."""


class BlueprintNotFound(ProblemsError, LookupError):
    """No published blueprint has that key, or the key has no such version."""


class ProjectNotFound(ProblemsError, LookupError):
    """No project has that id or external id."""


class MessageNotFound(ProblemsError, LookupError):
    """No outbox message has that id."""


class ApiKeyRefused(ProblemsError, ValueError):
    """An API key name that cannot be made (bad or taken) or revoked (unknown)."""


class NotAuthenticated(ProblemsError, PermissionError):
    """A request that carries no key the engine knows (none, unknown or revoked)."""


class NotPermitted(ProblemsError, PermissionError):
    """A request made with a valid key whose scope is below what the request needs."""


class ChangeConflict(ProblemsError, RuntimeError):
    """A change read a project that another change has replaced since: nothing of it was stored; try again."""


class WebhookInvalid(ProblemsError, ValueError):
    """A webhook subscription that cannot be made: its URL, event types or secret (every problem at once)."""


class WebhookNotFound(ProblemsError, LookupError):
    """No webhook endpoint has that id."""


class TeamMemberNotFound(ProblemsError, LookupError):
    """No team member (or no active one) with that address."""


class SignInRefused(ProblemsError, PermissionError):
    """A sign-in link that is unknown, used or expired, or a sign-in that no member can be given."""


class StoreUnavailable(ProblemsError, RuntimeError):
    """Infrastructure, not input: the database or the data folder cannot be used.

    Its problem names the file or server, what the driver or the system said, and
    what to check; nothing was changed.
    """


class HookMappingInvalid(ProblemsError, ValueError):
    """A hook source's mapping (YAML) or settings (name, secret, public URL) have problems, all listed, located."""


class HookSourceExists(ProblemsError, ValueError):
    """A hook source of that name exists; it is replaced only when asked to."""


class HookSourceNotFound(ProblemsError, LookupError):
    """No hook source has that name."""


class SignatureRefused(ProblemsError, PermissionError):
    """A hook delivery that does not prove it comes from the source: no signature, a wrong one, a stale timestamp.

    Nothing of the delivery was read beyond its headers and bytes; nothing was stored.
    """


class PayloadUnreadable(ProblemsError, ValueError):
    """A signed hook delivery whose body is not JSON."""


class PayloadUnmapped(ProblemsError, ValueError):
    """A signed hook delivery whose payload does not give a launch: every problem, located by its payload path."""


class DeliveryInProgress(ProblemsError, RuntimeError):
    """The same delivery is being launched by another request right now: retry it in a moment."""
