"""Inbound hooks: CRMs and other systems launch projects by signed posts (``POST /hooks/launch/{source}``).

A hook source is added with a secret, a signature scheme (``core.hook_signatures``)
and a mapping (``core.hook_mapping``). ``HookService.receive`` takes one delivery as
it arrived (method, URL, headers, raw body) and, in order: finds the source (else
``HookSourceNotFound``), verifies the signature and its timestamp
(``SignatureRefused``), reads the JSON (``PayloadUnreadable``), maps it
(``PayloadUnmapped``), and launches through ``ProjectService.launch`` as
``hook:<source>``. Each failure stores nothing.

A retried delivery launches once. The delivery is claimed by (source, delivery id)
before the launch: the mapping's delivery id, or, without one, the external id. A
claim already carrying a project answers that project; one still launching (two
identical deliveries at once) is waited for a moment, then answered
``DeliveryInProgress``; a claim left by a launch that failed is removed, one left
by a process that died is taken over after ``claim_timeout``. A new delivery id
for an external id launched before is a relaunch: the same inputs answer the
project, others are refused (``external-id-conflict``).

Not here: HTTP (the web edge), the signature and mapping rules (core), SQL (adapters/store).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from onboarding.core.hook_mapping import HookMapping, MappedLaunch, map_payload, parse_json_payload
from onboarding.core.hook_signatures import Scheme, signed_url, source_problems, verify_delivery
from onboarding.core.projects import ProjectRecord
from onboarding.errors import DeliveryInProgress, HookMappingInvalid, HookSourceNotFound, Problem
from onboarding.services.ports import Clock
from onboarding.services.projects import Launched, ProjectService


@dataclass(frozen=True)
class HookSource:
    """A system allowed to launch projects: how it signs, with which secret, and how its payload reads."""

    name: str
    scheme: Scheme
    secret: str
    mapping_text: str
    created_at: datetime
    public_url: str | None = None  # the scheme, host and path prefix the sender calls, when a proxy differs


@dataclass(frozen=True)
class DeliveryClaim:
    """What claiming a delivery found: it is ours to launch, launched before (its project), or in flight."""

    claimed: bool
    project_id: str | None = None


class HookStore(Protocol):
    """Hook sources and the deliveries seen; each method one transaction."""

    def add_source(self, source: HookSource, *, replace: bool) -> None:
        """Store a source; raises ``HookSourceExists`` when one has that name, unless ``replace``."""
        ...

    def source(self, name: str) -> HookSource | None: ...

    def sources(self) -> list[HookSource]:
        """Every source, by name."""
        ...

    def remove_source(self, name: str) -> bool:
        """Remove a source (its deliveries stay, for the record); False when there was none."""
        ...

    def claim_delivery(
        self, source: str, delivery_id: str, *, external_id: str, now: datetime, stale_before: datetime
    ) -> DeliveryClaim:
        """Claim a delivery by (source, delivery id), atomically: a new one, or one claimed before ``stale_before``
        and never launched, is claimed; otherwise what it holds is said."""
        ...

    def complete_delivery(self, source: str, delivery_id: str, *, project_id: str) -> None:
        """Record the project a claimed delivery launched (or found by its external id)."""
        ...

    def release_delivery(self, source: str, delivery_id: str) -> None:
        """Remove a claim whose launch failed, so that nothing of the delivery stays."""
        ...


class MappingReader(Protocol):
    def parse(self, text: str, *, source: str) -> HookMapping:
        """The checked mapping in a text; raises ``HookMappingInvalid`` with every problem, located."""
        ...


@dataclass(frozen=True)
class HookResult:
    """A delivery's answer: the project, whether this delivery made it, and whether it was seen before."""

    project: ProjectRecord
    created: bool
    delivery_id: str
    repeated: bool = False  # the same delivery was received before


class HookService:
    def __init__(
        self,
        *,
        store: HookStore,
        projects: ProjectService,
        mappings: MappingReader,
        clock: Clock,
        pause: Callable[[float], None] = lambda _seconds: None,
        wait_seconds: float = 5.0,
        claim_timeout: timedelta = timedelta(minutes=2),
    ) -> None:
        self._store = store
        self._projects = projects
        self._mappings = mappings
        self._clock = clock
        self._pause = pause  # how to wait for a delivery another request is launching (time.sleep)
        self._wait_seconds = wait_seconds
        self._claim_timeout = claim_timeout

    # -- sources -----------------------------------------------------------------------

    def add_source(
        self,
        name: str,
        *,
        secret: str,
        mapping_text: str,
        scheme: Scheme = Scheme.generic,
        public_url: str | None = None,
        replace: bool = False,
    ) -> HookSource:
        """Check and store a source: its name, secret and URL, and every problem of its mapping, all at once."""
        problems = source_problems(name, secret=secret, public_url=public_url)
        try:
            self._mappings.parse(mapping_text, source=f"{name} mapping")
        except HookMappingInvalid as error:
            problems += error.problems
        if problems:
            raise HookMappingInvalid(f"hook source {name}", tuple(problems))
        source = HookSource(
            name=name,
            scheme=scheme,
            secret=secret,
            mapping_text=mapping_text,
            public_url=public_url.rstrip("/") if public_url else None,
            created_at=self._clock.now(),
        )
        self._store.add_source(source, replace=replace)
        return source

    def sources(self) -> list[HookSource]:
        return self._store.sources()

    def remove_source(self, name: str) -> None:
        if not self._store.remove_source(name):
            raise _not_found(name)

    def source(self, name: str) -> HookSource:
        found = self._store.source(name)
        if found is None:
            raise _not_found(name)
        return found

    # -- deliveries --------------------------------------------------------------------

    def dry_run(self, name: str, body: bytes, *, headers: Mapping[str, str] | None = None) -> MappedLaunch:
        """What a delivery of this body would launch, without a signature and without launching."""
        source = self.source(name)
        mapping = self._mappings.parse(source.mapping_text, source=f"{name} mapping")
        return map_payload(mapping, parse_json_payload(body), headers=headers or {}, today=_utc_day(self._clock.now()))

    def receive(
        self, name: str, *, method: str, url: str, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> HookResult:
        """Verify, read, map and launch one delivery; a retried one answers the project it launched."""
        source = self.source(name)
        verify_delivery(
            source.scheme,
            secret=source.secret,
            method=method,
            url=signed_url(url, public_url=source.public_url),
            headers=headers,
            body=body,
            now=now,
        )
        payload = parse_json_payload(body)
        mapping = self._mappings.parse(source.mapping_text, source=f"{name} mapping")
        launch = map_payload(mapping, payload, headers=headers, today=_utc_day(now))
        delivery_id = launch.delivery_id or f"external-id:{launch.external_id}"
        claim = self._claim(name, delivery_id, launch=launch, now=now)
        if claim.project_id is not None:
            if launch.external_id is None:
                return HookResult(
                    self._projects.get(claim.project_id), created=False, delivery_id=delivery_id, repeated=True
                )
            # Launched before under this id: the same deal answers its project; a deal changed since (another
            # kickoff, say) is refused as a conflict naming what differs, as a relaunch through the API is.
            again = self._launch(name, launch)
            return HookResult(again.project, created=False, delivery_id=delivery_id, repeated=True)
        try:
            launched = self._launch(name, launch)
        except BaseException:
            self._store.release_delivery(name, delivery_id)
            raise
        self._store.complete_delivery(name, delivery_id, project_id=launched.project.id)
        return HookResult(launched.project, created=launched.created, delivery_id=delivery_id)

    def _launch(self, name: str, launch: MappedLaunch) -> Launched:
        return self._projects.launch(
            launch.blueprint,
            customer=launch.customer,
            kickoff_on=launch.kickoff_on,
            bindings=launch.bindings,
            pay_schedule=launch.pay_schedule,
            segment=launch.segment,
            external_id=launch.external_id,
            actor=f"hook:{name}",
            contract_signed_on=launch.contract_signed_on,
            published_only=True,  # a request from outside names a published blueprint, never a file here
        )

    def _claim(self, name: str, delivery_id: str, *, launch: MappedLaunch, now: datetime) -> DeliveryClaim:
        waited = 0.0
        step = 0.05
        while True:
            claim = self._store.claim_delivery(
                name,
                delivery_id,
                external_id=launch.external_id,
                now=now,
                stale_before=now - self._claim_timeout,
            )
            if claim.claimed or claim.project_id is not None:
                return claim
            if waited >= self._wait_seconds:
                raise DeliveryInProgress(
                    "delivery",
                    (
                        Problem(
                            "delivery-in-progress",
                            f"delivery {delivery_id!r} of {name} is being launched by another request",
                            ("delivery_id",),
                            "send it again in a few seconds: it answers the project once launched",
                        ),
                    ),
                )
            self._pause(step)
            waited += step
            step = min(step * 2, 0.5)


def _utc_day(now: datetime) -> date:
    return now.astimezone(UTC).date()


def _not_found(name: str) -> HookSourceNotFound:
    return HookSourceNotFound(
        name,
        (Problem("hook-source-not-found", f"no hook source {name!r}", ("source",), "add the source first"),),
    )
